//! Table definitions (`SHOW CREATE TABLE`) compared and renamed: the backup's against an
//! existing live table's, and the `CREATE TABLE` for a missing one or `--restore-as`.

use server::quote_identifier;

/// `def` (SHOW CREATE TABLE of `name`) as `CREATE TABLE <target> …`, `target` already
/// quoted (`` `db`.`t` ``). `None` when `def` does not start as SHOW CREATE TABLE writes.
pub fn create_as(def: &str, name: &str, target: &str) -> Option<String> {
    let rest = def.strip_prefix(&format!("CREATE TABLE {} ", quote_identifier(name)))?;
    Some(format!("CREATE TABLE {target} {rest}"))
}

/// Why a table of this definition cannot be restored by DISCARD/IMPORT, if it cannot.
pub fn unsupported(def: &str) -> Option<&'static str> {
    if def.contains("\n  FULLTEXT KEY ") {
        // Seen on 10.11.19: after the import the index is corrupt ("you should drop this
        // index first"), and adding it again after the drop crashed the server (assertion
        // in pars0pars.cc).
        return Some(
            "has a FULLTEXT index, which MariaDB 10.11 leaves corrupt after IMPORT \
             TABLESPACE (rebuilding it crashed the server in hotbackup's tests)",
        );
    }
    if def.contains(" DATA DIRECTORY=") || def.contains(" INDEX DIRECTORY=") {
        return Some("has its files outside the datadir (DATA/INDEX DIRECTORY)");
    }
    None
}

/// The definition without its name and without `AUTO_INCREMENT=N` (the next value, not
/// the structure).
fn normalized(def: &str, name: &str) -> String {
    let body = create_as(def, name, "").unwrap_or_else(|| def.to_string());
    let mut out = String::with_capacity(body.len());
    let mut rest = body.as_str();
    while let Some(at) = rest.find(" AUTO_INCREMENT=") {
        out.push_str(&rest[..at]);
        let after = &rest[at + " AUTO_INCREMENT=".len()..];
        rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

/// `None` when the live table `live` (named `live_name`) has the backup's definition
/// `backup` (of `backup_name`), else the first line that differs, for the message.
pub fn difference(backup: &str, backup_name: &str, live: &str, live_name: &str) -> Option<String> {
    let (b, l) = (normalized(backup, backup_name), normalized(live, live_name));
    if b == l {
        return None;
    }
    let (bl, ll): (Vec<&str>, Vec<&str>) = (b.lines().collect(), l.lines().collect());
    let at = (0..bl.len().max(ll.len()))
        .find(|&i| bl.get(i) != ll.get(i))
        .unwrap_or(0);
    let show = |v: Option<&&str>| v.map_or("(nothing)".to_string(), |s| s.trim().to_string());
    Some(format!(
        "line {} of SHOW CREATE TABLE is {:?} in the backup but {:?} on the live server",
        at + 1,
        show(bl.get(at)),
        show(ll.get(at))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `a` \
                     varchar(10) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB \
                     AUTO_INCREMENT=42 DEFAULT CHARSET=latin1";

    #[test]
    fn renames() {
        assert_eq!(
            create_as(T, "t", "`d`.`n`").unwrap(),
            T.replacen("`t`", "`d`.`n`", 1)
        );
        assert_eq!(create_as(T, "x", "`d`.`n`"), None);
        let odd = "CREATE TABLE `a``b` (\n  `id` int(11)\n)";
        assert_eq!(
            create_as(odd, "a`b", "`d`.`c`").unwrap(),
            "CREATE TABLE `d`.`c` (\n  `id` int(11)\n)"
        );
    }

    #[test]
    fn unsupported_definitions() {
        assert_eq!(unsupported(T), None);
        let ft = T.replace(
            "PRIMARY KEY (`id`)",
            "PRIMARY KEY (`id`),\n  FULLTEXT KEY `a` (`a`)",
        );
        assert!(unsupported(&ft).unwrap().contains("FULLTEXT"));
        let comment = T.replace(
            "DEFAULT NULL",
            "DEFAULT NULL COMMENT 'no FULLTEXT KEY here'",
        );
        assert_eq!(unsupported(&comment), None);
        let remote = format!("{T} DATA DIRECTORY='/mnt/x/'");
        assert!(unsupported(&remote)
            .unwrap()
            .contains("outside the datadir"));
    }

    #[test]
    fn differences() {
        let renamed = T.replacen("`t`", "`u`", 1).replace("=42", "=7");
        assert_eq!(difference(T, "t", &renamed, "u"), None, "name and next id");
        let other = T.replace("varchar(10)", "varchar(20)");
        assert_eq!(
            difference(T, "t", &other, "t").unwrap(),
            "line 3 of SHOW CREATE TABLE is \"`a` varchar(10) DEFAULT NULL,\" in the backup \
             but \"`a` varchar(20) DEFAULT NULL,\" on the live server"
        );
        let more = T.replace("PRIMARY KEY", "`b` int(11) DEFAULT NULL,\n  PRIMARY KEY");
        assert!(difference(T, "t", &more, "t")
            .unwrap()
            .starts_with("line 4"));
        let engine = T.replace("InnoDB", "MyISAM");
        assert!(difference(T, "t", &engine, "t").unwrap().contains("MyISAM"));
    }
}
