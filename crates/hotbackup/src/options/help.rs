//! `--help` text in mariadb-backup's layout: usage, option files and groups, then one entry per
//! option with the description wrapped at column 22, then the exit codes.

use super::parse::{CLIENT_GROUPS, SERVER_GROUPS, TOOL_GROUPS};
use super::spec::State;
use super::table::SPECS;

/// Appended to the description of options without effect.
pub const NO_EFFECT: &str = "(no effect, as in mariadb-backup 10.11)";
/// Appended to the description of refused options.
pub const REFUSED: &str = "(not supported by this version of hotbackup)";

/// Column where descriptions start, as in my_getopt's `my_print_help`.
const DESCRIPTION_COLUMN: usize = 22;
/// Lines are wrapped before this width.
const LINE_WIDTH: usize = 79;

/// The full help text. `version_line` is the first line; `exit_codes` is appended verbatim
/// (the binary passes `exit::help_table()`, which owns that table).
pub fn help_text(version_line: &str, exit_codes: &str) -> String {
    let mut out = String::new();
    out.push_str(version_line);
    out.push_str(
        "\nPhysical hot backup for MariaDB 10.11, a drop-in for mariadb-backup.\n\n\
         Usage: hotbackup [--defaults-file=#] [--backup | --prepare | --copy-back | --move-back] \
         [OPTIONS]\n\n\
         Default options are read from the following files in the given order:\n\
         /etc/my.cnf /etc/mysql/my.cnf ~/.my.cnf \n",
    );
    out.push_str("The following groups are read: ");
    out.push_str(&TOOL_GROUPS.join(" "));
    out.push(' ');
    out.push_str(&SERVER_GROUPS.join(" "));
    out.push_str("\n(connection and tool options also from: ");
    out.push_str(&CLIENT_GROUPS.join(" "));
    out.push_str(
        ")\n\
         The following options may be given as the first argument:\n\
         --print-defaults          Print the program argument list and exit.\n\
         --no-defaults             Don't read default options from any option file.\n\
         The following specify which files/extra groups are read (specified before remaining \
         options):\n\
         --defaults-file=#         Only read default options from the given file #.\n\
         --defaults-extra-file=#   Read this file after the global files are read.\n\
         --defaults-group-suffix=# Additionally read default groups with # appended as a \
         suffix.\n",
    );
    for spec in SPECS.iter().filter(|s| !s.help.is_empty()) {
        let label = format!("  {}", spec.help_label());
        let help = match spec.state {
            State::Implemented => spec.help.to_string(),
            State::NoEffect => format!("{} {NO_EFFECT}", spec.help),
            State::Refused { .. } => format!("{} {REFUSED}", spec.help),
        };
        let mut lines = wrap(&help, LINE_WIDTH - DESCRIPTION_COLUMN).into_iter();
        if label.len() < DESCRIPTION_COLUMN {
            out.push_str(&format!(
                "{label:<DESCRIPTION_COLUMN$}{}\n",
                lines.next().unwrap_or_default()
            ));
        } else {
            out.push_str(&label);
            out.push_str(" \n");
        }
        for line in lines {
            out.push_str(&format!("{:DESCRIPTION_COLUMN$}{line}\n", ""));
        }
    }
    let refused: Vec<String> = SPECS.iter().filter_map(|s| s.refused_example()).collect();
    out.push('\n');
    let note = format!(
        "Refused with exit 2, nothing written, because this version of hotbackup does not do \
         what they ask: {}. Their default values are accepted. From the option-file groups \
         shared with the server and other clients ([mysqld], [client], ...), server settings \
         that cannot change the backup (tmpdir, innodb_flush_method, ...) are ignored with a \
         warning.",
        refused.join(" ")
    );
    for line in wrap(&note, LINE_WIDTH) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(
        "Booleans take --X, --X=0|1|ON|OFF|TRUE|FALSE, --skip-X, --disable-X, --enable-X.\n\
         A loose- prefix turns an unknown option into a warning. - and _ are interchangeable.\n\
         Option files: [client] supplies the connection; [mysqld], [server], [mariadb]\n\
         supply datadir and innodb_*; [mariadb-backup] (also [mariabackup], [xtrabackup])\n\
         overrides both; the command line overrides all.\n\n",
    );
    out.push_str(exit_codes);
    out
}

/// Greedy word wrap; a word longer than `width` gets a line of its own.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let text = help_text("hotbackup 0.0.0", "Exit codes:\n  0  success\n");
        assert!(text.starts_with("hotbackup 0.0.0\n"));
        assert!(text.ends_with("Exit codes:\n  0  success\n"));
        assert!(text.contains("\n  -u, --user=name     user name for the server connection\n"));
        assert!(text.contains("\n  --backup            take a backup"));
        // Long labels put the description on the next line, like mariadb-backup.
        assert!(text.contains("\n  --force-non-empty-directories \n                      let"));
        // Hidden options stay hidden from the option list.
        assert!(!text.contains("\n  --login-path"));
        assert!(text.contains("  --stream=name       write the backup to standard output"));
        // Wrapped with the description: the start of the mark is on the option's line.
        assert!(text.contains("  --close-files       do not keep files open (not supported by"));
        assert!(text.contains("--compress"));
        assert!(text.contains("--skip-encrypted-backup"));
        assert!(text.contains(NO_EFFECT));
        // Option lines are wrapped; the group list is one line, as in mariadb-backup.
        for line in text.lines().filter(|l| l.starts_with("  ")) {
            assert!(line.len() <= LINE_WIDTH, "too long: {line}");
        }
    }

    #[test]
    fn wrap_words() {
        assert_eq!(wrap("a bb ccc", 4), vec!["a bb", "ccc"]);
        assert_eq!(wrap("", 4), Vec::<String>::new());
        assert_eq!(wrap("toolongword x", 4), vec!["toolongword", "x"]);
    }
}
