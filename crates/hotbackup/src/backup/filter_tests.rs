//! The filter's decisions, case by case, as read from mariadb-backup 10.11.18's
//! `check_if_skip_database`/`check_if_skip_table`/`xb_register_filter_entry` and its mtr tests
//! (`partial`, `partial_exclude`, `partition_partial`, `unsupported_redo`).

use std::path::{Path, PathBuf};

use super::*;

/// Options from `--name=value` pairs (files are given inline through `files`).
fn partial(args: &[(&str, &str)]) -> Partial {
    let mut p = Partial::default();
    for (name, value) in args {
        let v = Some(value.to_string());
        match *name {
            "databases" => p.databases = v,
            "databases-file" => p.databases_file = Some(PathBuf::from(value)),
            "databases-exclude" => p.databases_exclude = v,
            "tables" => p.tables = v,
            "tables-file" => p.tables_file = Some(PathBuf::from(value)),
            "tables-exclude" => p.tables_exclude = v,
            other => panic!("{other}"),
        }
    }
    p
}

fn filter_with(args: &[(&str, &str)], files: &[(&str, &str)]) -> Result<Filter, String> {
    let files: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, c)| (n.to_string(), c.as_bytes().to_vec()))
        .collect();
    let read = move |p: &Path| -> std::io::Result<Vec<u8>> {
        files
            .iter()
            .find(|(n, _)| Path::new(n) == p)
            .map(|(_, c)| c.clone())
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    };
    Filter::new(&partial(args), &read)
}

fn filter(args: &[(&str, &str)]) -> Filter {
    filter_with(args, &[]).unwrap()
}

/// `taken` and `skipped` are file paths as the backup names them.
fn check(f: &Filter, what: &str, taken: &[&str], skipped: &[&str]) {
    for path in taken {
        assert!(!f.skip_table(path), "{what}: {path} should be taken");
    }
    for path in skipped {
        assert!(f.skip_table(path), "{what}: {path} should be skipped");
    }
}

#[test]
fn no_filter_takes_everything_but_sql_tables() {
    let f = Filter::default();
    assert!(!f.is_partial());
    check(
        &f,
        "no filter",
        &[
            "test/t1.ibd",
            "mysql/user.MAD",
            "./test/t.frm",
            "test/db.opt",
            "t.ibd",
        ],
        &[
            "test/#sql-alter-1a-2.ibd",
            "test/#sql-ib123.ibd",
            "./test/#sql-1.frm",
        ],
    );
    assert!(!f.skip_database("anything"));
}

#[test]
fn tables_regexps() {
    // partial.test: "--tables=test.*1" takes t1 and t21, not t2 (and not their .frm: the
    // regexp is searched in db.table, so test.t1 matches, and db.opt is `test.db`).
    let f = filter(&[("tables", "test.*1")]);
    assert!(f.is_partial());
    check(
        &f,
        "test.*1",
        &[
            "test/t1.ibd",
            "test/t21.ibd",
            "./test/t1.frm",
            "test/t1#P#p0.ibd",
            "mytest/x1.ibd",
        ],
        &[
            "test/t2.ibd",
            "./test/db.opt",
            "mysql/user.MAD",
            "mysql/innodb_table_stats.ibd",
        ],
    );
    // Only table filters: no database is skipped whole.
    assert!(!f.skip_database("mysql"));
    // Comma-separated list, each searched.
    let f = filter(&[("tables", "^a[.]x$,^b[.]")]);
    check(
        &f,
        "list",
        &["a/x.ibd", "b/y.ibd", "b/z.frm"],
        &["a/y.ibd", "c/x.ibd"],
    );
    // partition_partial.test: "--tables=test.t1" takes every partition (search, unanchored).
    let f = filter(&[("tables", "test.t1")]);
    check(
        &f,
        "test.t1",
        &[
            "test/t1#P#p1.ibd",
            "test/t1#P#p4.ibd",
            "./test/t1.par",
            "./test/t1.frm",
        ],
        &["test/t2.ibd"],
    );
    // One partition alone: the name is tried with its #P# suffix first.
    let f = filter(&[("tables", "^test[.]t#P#p5$")]);
    check(
        &f,
        "one partition",
        &["test/t#P#p5.ibd"],
        &["test/t#P#p4.ibd", "./test/t.frm"],
    );
}

#[test]
fn tables_exclude_wins() {
    // partial_exclude.test: "--tables-exclude=test.*2" with "--databases-exclude=db2".
    let f = filter(&[("tables-exclude", "test.*2"), ("databases-exclude", "db2")]);
    check(
        &f,
        "partial_exclude",
        &[
            "test/t1.ibd",
            "mysql/user.MAD",
            "db5/db.opt",
            "./test/t1.frm",
        ],
        &["test/t2.ibd", "db2/t1.ibd", "./db2/db.opt", "./test/t2.frm"],
    );
    assert!(f.skip_database("db2") && !f.skip_database("test"));
    // Over --tables too.
    let f = filter(&[("tables", "^test[.]"), ("tables-exclude", "t2$")]);
    check(
        &f,
        "both",
        &["test/t1.ibd"],
        &["test/t2.ibd", "other/t1.ibd"],
    );
    // unsupported_redo.test: "--tables-exclude=test.t21".
    let f = filter(&[("tables-exclude", "test.t21")]);
    check(
        &f,
        "t21",
        &["test/t1.ibd", "test/t2.ibd"],
        &["test/t21.ibd"],
    );
    // An excluded table's partitions go with it; an excluded partition alone.
    let f = filter(&[("tables-exclude", "^d[.]p#P#p1$")]);
    check(
        &f,
        "partition",
        &["d/p#P#p0.ibd", "d/p.par"],
        &["d/p#P#p1.ibd"],
    );
}

#[test]
fn databases_list() {
    let f = filter(&[("databases", "test  db2\tdb3")]);
    check(
        &f,
        "databases",
        &[
            "test/t1.ibd",
            "db2/x.MYD",
            "./db3/db.opt",
            "test/t#P#p0.ibd",
        ],
        &[
            "mysql/user.MAD",
            "mysql/innodb_index_stats.ibd",
            "other/t.ibd",
            "./other/t.frm",
        ],
    );
    assert!(f.skip_database("mysql") && f.skip_database("other"));
    assert!(!f.skip_database("test") && !f.skip_database("db3"));
    // A whole database wins over --tables that does not match in it; --tables adds others.
    let f = filter(&[("databases", "test"), ("tables", "^x[.]y$")]);
    check(&f, "db + tables", &["test/t.ibd"], &["x/y.ibd", "x/z.ibd"]);
    // ... but --databases skips x whole before the regexp is tried.
    assert!(f.skip_database("x"));
}

#[test]
fn databases_with_tables() {
    // `db.table`: only that table of db; other databases are skipped.
    let f = filter(&[("databases", "test.t1 db2")]);
    check(
        &f,
        "db.t",
        &[
            "test/t1.ibd",
            "./test/t1.frm",
            "test/t1#P#p0.ibd",
            "db2/any.ibd",
        ],
        &[
            "test/t2.ibd",
            "./test/db.opt",
            "mysql/user.MAD",
            "test/t10.ibd",
        ],
    );
    assert!(!f.skip_database("test"));
    // The first entry of a database decides: `db db.t` is the whole db, `db.t db` one table.
    let f = filter(&[("databases", "test test.t1")]);
    check(&f, "db then db.t", &["test/t1.ibd", "test/t2.ibd"], &[]);
    let f = filter(&[("databases", "test.t1 test")]);
    check(&f, "db.t then db", &["test/t1.ibd"], &["test/t2.ibd"]);
    // --tables adds tables of a "some tables" database.
    let f = filter(&[("databases", "test.t1"), ("tables", "t3$")]);
    check(
        &f,
        "plus regexp",
        &["test/t1.ibd", "test/t3.ibd"],
        &["test/t2.ibd"],
    );
}

#[test]
fn databases_exclude() {
    let f = filter(&[("databases-exclude", "db2 db3")]);
    check(
        &f,
        "exclude",
        &["test/t.ibd", "mysql/user.MAD"],
        &["db2/t.ibd", "db3/x.frm"],
    );
    // Exclude wins over include.
    let f = filter(&[("databases", "test db2"), ("databases-exclude", "db2")]);
    check(
        &f,
        "incl+excl",
        &["test/t.ibd"],
        &["db2/t.ibd", "mysql/user.MAD"],
    );
    // `--databases-exclude=db.t` without --databases skips all of db (mariadb-backup's
    // check_if_skip_database: an excluded database with tables is skipped whole when there
    // is no include list).
    let f = filter(&[("databases-exclude", "test.t1")]);
    check(
        &f,
        "excl db.t alone",
        &["other/t1.ibd"],
        &["test/t1.ibd", "test/t2.ibd"],
    );
    // With an include list, only the table goes.
    let f = filter(&[("databases", "test"), ("databases-exclude", "test.t1")]);
    check(
        &f,
        "excl db.t",
        &["test/t2.ibd"],
        &["test/t1.ibd", "test/t1#P#p0.ibd"],
    );
    // xbstream.test: an exclude naming nothing that exists still makes the backup partial.
    let f = filter(&[("databases-exclude", "foobar")]);
    assert!(f.is_partial());
    check(&f, "foobar", &["test/t.ibd", "mysql/user.MAD"], &[]);
}

#[test]
fn ignore_db_dirs_are_excluded_databases() {
    // partial_exclude.opt: --ignore-db-dirs=db3 --ignore-db-dirs=db4 (server variables).
    let mut f = Filter::default();
    f.ignore_db_dirs("db3,db4");
    assert!(!f.is_partial());
    assert!(f.skip_database("db3") && f.skip_database("db4") && !f.skip_database("db5"));
    check(
        &f,
        "ignored",
        &["db5/db.opt", "test/t.ibd"],
        &["db3/t.ibd", "./db4/db.opt"],
    );
    // Registered before the options: an ignored directory is skipped whole even when
    // --databases-exclude names one of its tables.
    let mut f = filter(&[("databases", "db3 test"), ("databases-exclude", "db3.t")]);
    check(&f, "before", &["db3/u.ibd"], &["db3/t.ibd"]);
    f.ignore_db_dirs("db3");
    check(&f, "after", &["test/t.ibd"], &["db3/u.ibd"]);
    let mut f = Filter::default();
    f.ignore_db_dirs("");
    check(&f, "empty", &["x/t.ibd"], &[]);
}

#[test]
fn list_files() {
    // partial.test (MDEV-36287): a tables file with one table.
    let f = filter_with(&[("tables-file", "/l")], &[("/l", "test.t1\n")]).unwrap();
    assert!(f.is_partial());
    check(
        &f,
        "tables-file",
        &["test/t1.ibd", "./test/t1.frm"],
        &["test/t2.ibd", "mysql/user.MAD"],
    );
    // The last line may lack its newline; lines are not trimmed.
    let f = filter_with(&[("tables-file", "/l")], &[("/l", "a.x\nb.y")]).unwrap();
    check(
        &f,
        "no final newline",
        &["a/x.ibd", "b/y.ibd"],
        &["a/z.ibd"],
    );
    let f = filter_with(&[("tables-file", "/l")], &[("/l", "a.x \n")]).unwrap();
    check(&f, "trailing space", &[], &["a/x.ibd"]);
    let f = filter_with(&[("databases-file", "/d")], &[("/d", "db1\ndb2.t\n")]).unwrap();
    check(
        &f,
        "databases-file",
        &["db1/a.ibd", "db2/t.ibd"],
        &["db2/u.ibd", "mysql/user.MAD"],
    );
    // An empty line registers the empty database name: the include list exists.
    let f = filter_with(&[("databases-file", "/d")], &[("/d", "\n")]).unwrap();
    check(&f, "empty line", &[], &["db1/a.ibd"]);
    // --databases and --databases-file add up.
    let f = filter_with(
        &[("databases", "a"), ("databases-file", "/d")],
        &[("/d", "b\n")],
    )
    .unwrap();
    check(&f, "both", &["a/t.ibd", "b/t.ibd"], &["c/t.ibd"]);
}

#[test]
fn refused_values_name_the_option() {
    for (args, files, expected) in [
        (
            vec![("tables", "a,(b")],
            vec![],
            "--tables: invalid regular expression `(b`",
        ),
        (
            vec![("tables-exclude", "[x")],
            vec![],
            "--tables-exclude: invalid regular expression `[x`",
        ),
        (
            vec![("databases", "a/b")],
            vec![],
            "--databases: name `a/b` is not valid",
        ),
        (
            vec![("databases-exclude", "~x")],
            vec![],
            "--databases-exclude: name `~x` is not valid",
        ),
        (
            vec![("tables-file", "/l")],
            vec![("/l", "test\n")],
            "`test` is not a fully qualified name",
        ),
        (
            vec![("tables-file", "/l")],
            vec![("/l", "\n")],
            "`` is not a fully qualified name",
        ),
        (
            vec![("tables-file", "/missing")],
            vec![],
            "--tables-file: cannot read /missing",
        ),
        (
            vec![("databases-file", "/missing")],
            vec![],
            "--databases-file: cannot read /missing",
        ),
    ] {
        let e = filter_with(&args, &files).unwrap_err();
        assert!(e.contains(expected), "{args:?}: {e}");
    }
    let long = "d".repeat(NAME_LEN + 1);
    let e = filter_with(&[("databases", &long)], &[]).unwrap_err();
    assert!(e.contains("is too long"), "{e}");
    let ok = format!("{}.{}", "d".repeat(NAME_LEN), "t".repeat(NAME_LEN - 1));
    filter_with(&[("databases", &ok)], &[]).unwrap();
    let e = filter_with(&[("databases", &format!("{ok}t"))], &[]).unwrap_err();
    assert!(e.contains("is too long"), "{e}");
    let line = format!("{}\n", "x".repeat(NAME_LEN * 2 + 1));
    let e = filter_with(&[("databases-file", "/d")], &[("/d", &line)]).unwrap_err();
    assert!(e.contains("is too long"), "{e}");
}

#[test]
fn empty_values_filter_nothing_but_make_the_backup_partial() {
    // strtok on an empty string yields nothing: no list exists, every table is taken.
    let f = filter(&[("databases", " "), ("tables", ",")]);
    assert!(f.is_partial());
    check(&f, "empty", &["a/t.ibd", "mysql/user.MAD"], &[]);
}
