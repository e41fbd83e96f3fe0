//! `cargo xtask mtr [TEST…]`: MariaDB's own mariabackup test suite, run with hotbackup standing in
//! for `mariadb-backup`, judged against the expectations in `mtr/expectations.txt`.
//!
//! The suite (Debian package `mariadb-test`) finds the tool as `$client_bindir/mariabackup`, so
//! the runner builds a directory of symlinks to the real client programs in which `mariabackup`
//! and `mariadb-backup` are hotbackup's binary and `mbstream` is hotbackup's `hbstream` (built
//! next to it; MariaDB's when it is missing).
//!
//! Every test of the suite is listed in the expectations file with one of `pass`, `skip`,
//! `fails: <missing capability>`, `differs: <deliberate difference>` or `not-run: <why>` (a
//! failing test that takes mtr down with it — as `slave_info_norpl` did, killing
//! mariadb-test-run.pl with SIGPIPE, until partial backups existed — is kept out of the run with `--skip-test` until it passes). The run fails when a test
//! expected to pass does not (a hang is a failure: mtr's per-test timeout), when a test that is
//! expected to fail now passes (update the file in the same change), or when a test is missing
//! from the file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};

use crate::{ensure_packages_named, workspace_root};

const SUITE_DIR: &str = "/usr/share/mysql/mysql-test";
const EXPECTATIONS: &str = "mtr/expectations.txt";

/// What the expectations file says of one test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    Pass,
    Skip,
    Fails(String),
    Differs(String),
    /// Kept out of the run (`--skip-test`): its failure breaks mtr itself.
    NotRun(String),
}

impl Expect {
    fn parse(s: &str) -> Option<Expect> {
        let s = s.trim();
        if s == "pass" {
            Some(Expect::Pass)
        } else if s == "skip" || s.starts_with("skip:") {
            Some(Expect::Skip)
        } else if let Some(why) = s.strip_prefix("fails:") {
            Some(Expect::Fails(why.trim().to_string()))
        } else if let Some(why) = s.strip_prefix("not-run:") {
            Some(Expect::NotRun(why.trim().to_string()))
        } else {
            s.strip_prefix("differs:")
                .map(|why| Expect::Differs(why.trim().to_string()))
        }
    }

    /// Whether a test with this expectation must pass for the run to be green.
    fn must_pass(&self) -> bool {
        matches!(self, Expect::Pass)
    }
}

/// What mtr reported for one test (one combination).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Skipped(String),
    Fail(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Pass => f.write_str("pass"),
            Outcome::Skipped(_) => f.write_str("skipped"),
            Outcome::Fail(_) => f.write_str("FAIL"),
        }
    }
}

/// One result line of mtr: `mariabackup.full_backup '32k'   [ pass ]   8114`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Result1 {
    /// The test name without the suite, e.g. `full_backup`.
    pub test: String,
    /// The combination, e.g. `32k`, if any.
    pub combination: Option<String>,
    pub outcome: Outcome,
}

/// Parses one line of mtr's output; `None` for every other line. Retries (`[ retry-fail ]`) are
/// not final and are skipped.
pub fn parse_result_line(line: &str) -> Option<Result1> {
    let rest = line.trim_start().strip_prefix("mariabackup.")?;
    let open = rest.find(" [ ")?;
    let (head, tail) = rest.split_at(open);
    let tail = &tail[3..];
    let close = tail.find(" ]")?;
    let status = tail[..close].trim();
    let detail = tail[close + 2..].trim().to_string();
    // With --parallel, mtr adds the worker (`w2`) after the name.
    let mut head = head.trim();
    if let Some((rest, worker)) = head.rsplit_once(' ') {
        if worker.len() > 1
            && worker.starts_with('w')
            && worker[1..].bytes().all(|b| b.is_ascii_digit())
        {
            head = rest.trim_end();
        }
    }
    let (test, combination) = match head.split_once(' ') {
        Some((t, c)) => (t.to_string(), Some(c.trim().trim_matches('\'').to_string())),
        None => (head.to_string(), None),
    };
    let outcome = match status {
        "pass" => Outcome::Pass,
        "skipped" | "disabled" => Outcome::Skipped(detail),
        "fail" => Outcome::Fail(detail),
        _ => return None,
    };
    Some(Result1 {
        test,
        combination,
        outcome,
    })
}

/// The expectations file: `test[ 'combination'] <expectation>`, `#` comments. A line without a
/// combination covers every combination of the test.
pub fn parse_expectations(text: &str) -> Result<BTreeMap<String, Expect>> {
    let mut out = BTreeMap::new();
    for (no, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, rest) = match line.find('\'') {
            Some(q) if line[..q].split_whitespace().count() == 1 => {
                let end = line[q + 1..]
                    .find('\'')
                    .with_context(|| format!("line {}: unclosed combination", no + 1))?;
                let comb = &line[q + 1..q + 1 + end];
                (
                    format!("{} '{comb}'", line[..q].trim()),
                    &line[q + 2 + end..],
                )
            }
            _ => {
                let (k, r) = line
                    .split_once(char::is_whitespace)
                    .with_context(|| format!("line {}: no expectation", no + 1))?;
                (k.to_string(), r)
            }
        };
        let expect = Expect::parse(rest).with_context(|| {
            format!(
                "line {}: `{}`: expected pass, skip, fails: WHY, differs: WHY or not-run: WHY",
                no + 1,
                rest.trim()
            )
        })?;
        ensure!(
            out.insert(key.clone(), expect).is_none(),
            "line {}: {key} listed twice",
            no + 1
        );
    }
    Ok(out)
}

fn expectation_for<'a>(map: &'a BTreeMap<String, Expect>, r: &Result1) -> Option<&'a Expect> {
    r.combination
        .as_ref()
        .and_then(|c| map.get(&format!("{} '{c}'", r.test)))
        .or_else(|| map.get(&r.test))
}

/// How one result compares with its expectation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// As expected.
    Ok,
    /// Expected to pass and did not: the run fails.
    Regression,
    /// Expected to fail or differ and passed: update the file.
    NewlyPasses,
    /// Not in the file.
    Unlisted,
}

pub fn judge(expect: Option<&Expect>, outcome: &Outcome) -> Verdict {
    match (expect, outcome) {
        (None, _) => Verdict::Unlisted,
        (Some(e), Outcome::Pass) if !e.must_pass() => Verdict::NewlyPasses,
        (Some(e), Outcome::Fail(_)) if e.must_pass() => Verdict::Regression,
        (Some(e), Outcome::Skipped(_)) if e.must_pass() => Verdict::Regression,
        _ => Verdict::Ok,
    }
}

struct Args {
    tests: Vec<String>,
    parallel: u32,
    timeout_min: u32,
    bin: Option<PathBuf>,
}

fn parse_args(args: &[String]) -> Result<Args> {
    let mut out = Args {
        tests: Vec::new(),
        parallel: 2,
        timeout_min: 5,
        bin: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .with_context(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--parallel" => out.parallel = value("--parallel")?.parse()?,
            "--timeout-min" => out.timeout_min = value("--timeout-min")?.parse()?,
            "--bin" => out.bin = Some(PathBuf::from(value("--bin")?)),
            s if s.starts_with("--") => {
                bail!("unknown option {s}; usage: cargo xtask mtr [--parallel N] [--timeout-min M] [--bin HOTBACKUP] [TEST…]")
            }
            s => out.tests.push(s.to_string()),
        }
    }
    Ok(out)
}

/// A directory of symlinks to the real client programs with hotbackup as mariadb-backup and
/// hbstream (next to it) as mbstream.
fn client_bindir(hotbackup: &Path, dir: &Path) -> Result<()> {
    let hbstream = hotbackup.with_file_name("hbstream");
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir("/usr/bin")? {
        let entry = entry?;
        let name = entry.file_name();
        let n = name.to_string_lossy();
        let wanted = n.starts_with("mariadb")
            || n.starts_with("mysql")
            || n.starts_with("my_print_defaults")
            || n.starts_with("aria_")
            || n.starts_with("myisam")
            || n == "mbstream"
            || n == "innochecksum"
            || n == "perror"
            || n == "replace"
            || n == "resolveip";
        let ours = n == "mbstream" && hbstream.exists();
        if wanted && n != "mariadb-backup" && n != "mariabackup" && !ours {
            std::os::unix::fs::symlink(entry.path(), dir.join(&name))?;
        }
    }
    for name in ["mariabackup", "mariadb-backup"] {
        std::os::unix::fs::symlink(hotbackup, dir.join(name))?;
    }
    if hbstream.exists() {
        std::os::unix::fs::symlink(&hbstream, dir.join("mbstream"))?;
    }
    Ok(())
}

pub fn run(args: &[String]) -> Result<()> {
    let args = parse_args(args)?;
    ensure_packages_named(&["mariadb-server", "mariadb-client", "mariadb-test"])?;
    let root = workspace_root();
    let expectations_path = root.join(EXPECTATIONS);
    let expectations = parse_expectations(
        &std::fs::read_to_string(&expectations_path)
            .with_context(|| format!("cannot read {}", expectations_path.display()))?,
    )
    .with_context(|| format!("in {}", expectations_path.display()))?;

    let hotbackup = match &args.bin {
        Some(b) => b.canonicalize()?,
        None => {
            println!("building hotbackup");
            let st = Command::new(env!("CARGO"))
                .args(["build", "-q", "-p", "hotbackup", "--bins"])
                .current_dir(&root)
                .status()?;
            ensure!(st.success(), "cargo build -p hotbackup failed");
            root.join("target/debug/hotbackup")
        }
    };
    // mtr's unix sockets live under the vardir: keep its path short.
    let work = PathBuf::from(format!("/tmp/hotbackup-mtr-{}", std::process::id()));
    let bindir = work.join("bin");
    client_bindir(&hotbackup, &bindir)?;
    let not_run: Vec<&str> = expectations
        .iter()
        .filter(|(_, e)| matches!(e, Expect::NotRun(_)))
        .map(|(k, _)| k.as_str())
        .collect();
    let log_path = root.join("target/mtr.log");
    let mut log = std::fs::File::create(&log_path)?;
    println!(
        "running the mariabackup suite with {} as mariadb-backup",
        hotbackup.display()
    );
    // mariadb-test-run.pl sometimes dies of SIGPIPE near the end of a run with many fast
    // failures, leaving the last tests unrun. Its --dry-run lists every (test, combination)
    // first; what a run leaves without a result is run again (up to twice), and a combination
    // that never gets a result fails the run.
    let expected = dry_run(&bindir, &work.join("dry"), &args.tests, &not_run)?;
    let mut results: Vec<Result1> = Vec::new();
    let mut wanted = args.tests.clone();
    let mut missing = Vec::new();
    for round in 0..3 {
        let vardir = work.join(format!("var{round}"));
        let (got, status) = run_once(&bindir, &vardir, &args, &wanted, &not_run, &mut log)?;
        for r in got {
            if !results
                .iter()
                .any(|o| o.test == r.test && o.combination == r.combination)
            {
                results.push(r);
            }
        }
        missing = expected
            .iter()
            .filter(|(t, c)| !results.iter().any(|r| &r.test == t && &r.combination == c))
            .cloned()
            .collect::<Vec<_>>();
        if missing.is_empty() {
            break;
        }
        let mut names: Vec<String> = missing.iter().map(|(t, _)| t.clone()).collect();
        names.dedup();
        println!(
            "mariadb-test-run.pl exited with {status} before it ran {}; running them again",
            names.join(" ")
        );
        wanted = names;
    }
    let _ = std::fs::remove_dir_all(&work);
    ensure!(
        !results.is_empty(),
        "mtr reported no result; its output is in {}",
        log_path.display()
    );
    report(&expectations, &results, args.tests.is_empty())?;
    ensure!(
        missing.is_empty(),
        "mtr never ran {} after three tries; its output is in {}",
        missing
            .iter()
            .map(|(t, c)| match c {
                Some(c) => format!("{t} '{c}'"),
                None => t.clone(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        log_path.display()
    );
    Ok(())
}

/// Every (test, combination) mtr would run for `tests` (all when empty), from `--dry-run`.
fn dry_run(
    bindir: &Path,
    vardir: &Path,
    tests: &[String],
    not_run: &[&str],
) -> Result<Vec<(String, Option<String>)>> {
    let mut cmd = Command::new("perl");
    cmd.current_dir(SUITE_DIR).arg("mariadb-test-run.pl");
    if !not_run.is_empty() {
        cmd.arg(format!("--skip-test=^({})$", not_run.join("|")));
    }
    let out = cmd
        .arg("--suite=mariabackup")
        .arg("--dry-run")
        .arg(format!("--vardir={}", vardir.display()))
        .arg(format!("--client-bindir={}", bindir.display()))
        .args(tests)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot start mariadb-test-run.pl --dry-run")?;
    let list: Vec<_> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(parse_dry_run_line)
        .collect();
    ensure!(
        !list.is_empty(),
        "mariadb-test-run.pl --dry-run listed no test (exit {})",
        out.status
    );
    Ok(list)
}

/// `mariabackup.full_backup '32k'` → (`full_backup`, `Some("32k")`).
fn parse_dry_run_line(line: &str) -> Option<(String, Option<String>)> {
    let rest = line.trim().strip_prefix("mariabackup.")?;
    if rest.contains(" [ ") {
        return None;
    }
    Some(match rest.split_once(' ') {
        Some((t, c)) => (t.to_string(), Some(c.trim().trim_matches('\'').to_string())),
        None => (rest.to_string(), None),
    })
}

/// One run of mariadb-test-run.pl on `tests` (all when empty): its result lines, its status.
fn run_once(
    bindir: &Path,
    vardir: &Path,
    args: &Args,
    tests: &[String],
    not_run: &[&str],
    log: &mut std::fs::File,
) -> Result<(Vec<Result1>, std::process::ExitStatus)> {
    use std::io::{BufRead, Write};
    let mut cmd = Command::new("perl");
    cmd.current_dir(SUITE_DIR).arg("mariadb-test-run.pl");
    if !not_run.is_empty() {
        cmd.arg(format!("--skip-test=^({})$", not_run.join("|")));
    }
    cmd.arg("--suite=mariabackup")
        .arg(format!("--vardir={}", vardir.display()))
        .arg(format!("--client-bindir={}", bindir.display()))
        .arg(format!("--parallel={}", args.parallel))
        .arg(format!("--testcase-timeout={}", args.timeout_min))
        .args(["--force", "--retry=0", "--max-test-fail=0"])
        .args(tests)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().context("cannot start mariadb-test-run.pl")?;
    let stdout = child.stdout.take().expect("piped");
    let mut results = Vec::new();
    for line in std::io::BufReader::new(stdout).split(b'\n') {
        let line = String::from_utf8_lossy(&line?).into_owned();
        writeln!(log, "{line}")?;
        if let Some(r) = parse_result_line(&line) {
            println!("{line}");
            results.push(r);
        }
    }
    let status = child.wait()?;
    if !status.success() {
        println!("mariadb-test-run.pl exited with {status}");
    }
    Ok((results, status))
}

fn report(
    expectations: &BTreeMap<String, Expect>,
    results: &[Result1],
    whole_suite: bool,
) -> Result<()> {
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut regressions = Vec::new();
    let mut newly = Vec::new();
    let mut unlisted = Vec::new();
    println!();
    println!("{:<48} {:<8} expected", "test", "result");
    for r in results {
        let name = match &r.combination {
            Some(c) => format!("{} '{c}'", r.test),
            None => r.test.clone(),
        };
        let expect = expectation_for(expectations, r);
        match r.outcome {
            Outcome::Pass => passed += 1,
            Outcome::Fail(_) => failed += 1,
            Outcome::Skipped(_) => skipped += 1,
        }
        let shown = match expect {
            None => "(not listed)".to_string(),
            Some(Expect::Pass) => "pass".into(),
            Some(Expect::Skip) => "skip".into(),
            Some(Expect::Fails(w)) => format!("fails: {w}"),
            Some(Expect::Differs(w)) => format!("differs: {w}"),
            Some(Expect::NotRun(w)) => format!("not-run: {w}"),
        };
        println!("{name:<48} {:<8} {shown}", r.outcome.to_string());
        match judge(expect, &r.outcome) {
            Verdict::Ok => {}
            Verdict::Regression => regressions.push(format!("{name}: {:?}", r.outcome)),
            Verdict::NewlyPasses => newly.push(name),
            Verdict::Unlisted => unlisted.push(name),
        }
    }
    if whole_suite {
        // A test expected to pass that mtr never reported (mtr died, a worker crashed) fails.
        for (key, expect) in expectations {
            let (test, comb) = match key.split_once(' ') {
                Some((t, c)) => (t, Some(c.trim_matches('\''))),
                None => (key.as_str(), None),
            };
            let seen = results
                .iter()
                .any(|r| r.test == test && (comb.is_none() || r.combination.as_deref() == comb));
            if !seen {
                println!("{key:<48} (no result: mtr did not run it)");
                if expect.must_pass() {
                    regressions.push(format!("{key}: no result"));
                }
            }
        }
    }
    println!();
    for r in &regressions {
        println!("REGRESSION (expected to pass): {r}");
    }
    for n in &newly {
        println!("NEWLY PASSES: {n}: set it to `pass` in {EXPECTATIONS}");
    }
    for n in &unlisted {
        println!("NOT LISTED: {n}: add it to {EXPECTATIONS}");
    }
    println!("mtr: {passed} passed, {failed} failed, {skipped} skipped");
    ensure!(
        regressions.is_empty() && newly.is_empty() && unlisted.is_empty(),
        "{} regression(s), {} newly passing, {} unlisted: see above",
        regressions.len(),
        newly.len(),
        unlisted.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test name, combination, outcome.
    type Want<'a> = (&'a str, Option<&'a str>, Outcome);

    #[test]
    fn result_lines() {
        let cases: &[(&str, Option<Want>)] = &[
            (
                "mariabackup.full_backup '32k'            [ pass ]   8114",
                Some(("full_backup", Some("32k"), Outcome::Pass)),
            ),
            (
                "mariabackup.xb_aws_key_management        [ skipped ]  Test requires: 'aws_key_management'",
                Some((
                    "xb_aws_key_management",
                    None,
                    Outcome::Skipped("Test requires: 'aws_key_management'".into()),
                )),
            ),
            (
                "mariabackup.data_directory 'innodb'      [ fail ]",
                Some(("data_directory", Some("innodb"), Outcome::Fail(String::new()))),
            ),
            (
                "mariabackup.foo                          [ fail ]  timeout after 300 seconds",
                Some(("foo", None, Outcome::Fail("timeout after 300 seconds".into()))),
            ),
            (
                "mariabackup.incremental_backup '16k,undo0' w2 [ pass ]   7484",
                Some(("incremental_backup", Some("16k,undo0"), Outcome::Pass)),
            ),
            (
                "mariabackup.undo_truncate 'clear'        w2 [ pass ]   6539",
                Some(("undo_truncate", Some("clear"), Outcome::Pass)),
            ),
            (
                "mariabackup.foo                          w1 [ fail ]",
                Some(("foo", None, Outcome::Fail(String::new()))),
            ),
            ("mariabackup.foo    [ retry-fail ]", None),
            ("worker[01] Using MTR_BUILD_THREAD 300", None),
        ];
        for (line, want) in cases {
            let got = parse_result_line(line);
            let want = want.as_ref().map(|(t, c, o)| Result1 {
                test: t.to_string(),
                combination: c.map(str::to_string),
                outcome: o.clone(),
            });
            assert_eq!(got, want, "{line}");
        }
    }

    #[test]
    fn expectations_and_verdicts() {
        let map = parse_expectations(
            "# comment\nfull_backup pass\nfoo 'innodb' fails: incremental\nfoo skip\nbar differs: exit 2 for usage\nqux not-run: kills mtr\n",
        )
        .unwrap();
        let r = |t: &str, c: Option<&str>, o: Outcome| Result1 {
            test: t.into(),
            combination: c.map(Into::into),
            outcome: o,
        };
        let fail = Outcome::Fail(String::new());
        let cases = [
            (r("full_backup", Some("4k"), Outcome::Pass), Verdict::Ok),
            (
                r("full_backup", Some("4k"), fail.clone()),
                Verdict::Regression,
            ),
            (
                r("full_backup", None, Outcome::Skipped("x".into())),
                Verdict::Regression,
            ),
            (r("foo", Some("innodb"), fail.clone()), Verdict::Ok),
            (
                r("foo", Some("innodb"), Outcome::Pass),
                Verdict::NewlyPasses,
            ),
            (
                r("foo", Some("aria"), Outcome::Skipped("x".into())),
                Verdict::Ok,
            ),
            (r("bar", None, fail.clone()), Verdict::Ok),
            (r("bar", None, Outcome::Pass), Verdict::NewlyPasses),
            (r("baz", None, Outcome::Pass), Verdict::Unlisted),
            (r("qux", None, Outcome::Skipped("x".into())), Verdict::Ok),
        ];
        for (res, want) in cases {
            assert_eq!(
                judge(expectation_for(&map, &res), &res.outcome),
                want,
                "{res:?}"
            );
        }
        assert!(parse_expectations("x maybe\n").is_err());
        assert!(parse_expectations("x pass\nx pass\n").is_err());
    }

    #[test]
    fn dry_run_lines() {
        assert_eq!(
            parse_dry_run_line("mariabackup.full_backup '32k'"),
            Some(("full_backup".into(), Some("32k".into())))
        );
        assert_eq!(
            parse_dry_run_line("mariabackup.aria_backup"),
            Some(("aria_backup".into(), None))
        );
        assert_eq!(parse_dry_run_line("mariabackup.x   [ pass ]  12"), None);
        assert_eq!(parse_dry_run_line("Collecting tests..."), None);
    }
}
