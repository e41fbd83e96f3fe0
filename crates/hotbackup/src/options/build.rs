//! From the parser's stored values to the typed [`Options`], through typed accessors keyed by
//! [`Opt`]: a misspelt option is a compile error, and reading an option as the wrong kind (a
//! number as a switch) panics in the unit test that builds every option.

use std::path::PathBuf;

use super::parse::{Engine, Setting, Val};
use super::spec::Kind;
use super::table::Opt;
use super::{
    innodb_param, print_param, refuse, BinlogInfo, ChecksumAlgorithm, Connection, Error, ErrorKind,
    IncrementalFrom, Innodb, Mode, Options, Origin, Partial, Protocol,
};

impl Engine {
    fn setting(&self, o: Opt) -> Option<&Setting> {
        self.settings.get(o.spec().name)
    }

    fn val(&self, o: Opt) -> Option<&Val> {
        self.setting(o).map(|s| &s.val)
    }

    /// A text option's value (`None` when not given, reset, or given without a value).
    fn text(&self, o: Opt) -> Option<String> {
        assert!(matches!(o.spec().kind, Kind::Text(_)), "{o:?} is not text");
        match self.val(o) {
            Some(Val::Text(t)) => Some(t.clone()),
            _ => None,
        }
    }

    fn path(&self, o: Opt) -> Option<PathBuf> {
        self.text(o).map(PathBuf::from)
    }

    /// A boolean's value or default.
    fn flag(&self, o: Opt) -> bool {
        let Kind::Bool { default } = o.spec().kind else {
            panic!("{o:?} is not a boolean");
        };
        match self.val(o) {
            Some(Val::Bool(b)) => *b,
            _ => default,
        }
    }

    /// A number's value or default (already clamped to the option's bounds).
    fn num(&self, o: Opt) -> i64 {
        let Kind::Num { default, .. } = o.spec().kind else {
            panic!("{o:?} is not a number");
        };
        match self.val(o) {
            Some(Val::Num(n)) => *n,
            _ => default,
        }
    }

    fn unsigned(&self, o: Opt) -> u64 {
        u64::try_from(self.num(o)).unwrap_or(0)
    }

    fn u32(&self, o: Opt) -> u32 {
        u32::try_from(self.num(o)).unwrap_or(u32::MAX)
    }

    /// An enum's index, `None` when not given or given without a value.
    fn enum_idx(&self, o: Opt) -> Option<i64> {
        assert!(
            matches!(o.spec().kind, Kind::Enum { .. }),
            "{o:?} is not an enum"
        );
        match self.val(o) {
            Some(Val::Num(n)) => Some(*n),
            _ => None,
        }
    }

    /// Where `o`'s value came from ([`Origin::Default`] when not given).
    fn origin(&self, o: Opt) -> Origin {
        self.setting(o)
            .map_or(Origin::Default, |s| s.origin.clone())
    }

    fn given(&self, o: Opt) -> bool {
        self.setting(o).is_some()
    }

    /// The base of an incremental backup. mariadb-backup takes `--incremental-lsn` over
    /// `--incremental-basedir`, but lets a history option silently replace either (its help
    /// calls them mutually exclusive) and dies at connect time on both history options:
    /// here those combinations are a usage error before anything runs.
    fn incremental(&self) -> Result<Option<IncrementalFrom>, Error> {
        let name = self.text(Opt::IncrementalHistoryName);
        let uuid = self.text(Opt::IncrementalHistoryUuid);
        let direct = [Opt::IncrementalLsn, Opt::IncrementalBasedir]
            .into_iter()
            .find(|o| self.given(*o));
        if let (Some(_), Some(_)) = (&name, &uuid) {
            return Err(Error::new(
                ErrorKind::BadValue,
                "It is allowed to use either --incremental-history-name or \
                 --incremental-history-uuid, but not both.",
            ));
        }
        if let (Some(d), true) = (direct, name.is_some() || uuid.is_some()) {
            return Err(Error::new(
                ErrorKind::BadValue,
                format!(
                    "--{} cannot be combined with --incremental-history-{}: give one base \
                     for the incremental backup",
                    d.spec().name,
                    if name.is_some() { "name" } else { "uuid" }
                ),
            ));
        }
        Ok(if let Some(lsn) = self.text(Opt::IncrementalLsn) {
            Some(IncrementalFrom::Lsn(lsn))
        } else if let Some(dir) = self.path(Opt::IncrementalBasedir) {
            Some(IncrementalFrom::Basedir(dir))
        } else if let Some(name) = name {
            Some(IncrementalFrom::HistoryName(name))
        } else {
            uuid.map(IncrementalFrom::HistoryUuid)
        })
    }

    /// Of two options that set the same thing (aliases), the one given later.
    fn later(&self, a: Opt, b: Opt) -> Opt {
        match (self.setting(a), self.setting(b)) {
            (Some(x), Some(y)) if y.seq > x.seq => b,
            (None, Some(_)) => b,
            _ => a,
        }
    }

    /// The connection's TLS settings: `Some` when `--ssl` or any `--ssl-*` option asks for
    /// TLS (then a server without it is refused), `None` for plaintext. The one given last
    /// wins between `--skip-ssl` and an option that implies `--ssl`, as in MariaDB's client.
    fn tls(&self) -> Result<Option<server::TlsOptions>, Error> {
        let implying = [
            Opt::SslCa,
            Opt::SslCapath,
            Opt::SslCert,
            Opt::SslKey,
            Opt::SslCrl,
            Opt::SslCrlpath,
        ];
        let mut on: Option<(usize, bool)> = None;
        let mut note = |seq: usize, value: bool| {
            if on.is_none_or(|(at, _)| seq > at) {
                on = Some((seq, value));
            }
        };
        for o in implying {
            if let (Some(setting), Some(_)) = (self.setting(o), self.text(o)) {
                note(setting.seq, true);
            }
        }
        for o in [Opt::Ssl, Opt::SslVerifyServerCert] {
            if let Some(Setting {
                val: Val::Bool(b),
                seq,
                ..
            }) = self.setting(o)
            {
                // `--skip-ssl-verify-server-cert` does not turn TLS off.
                if *b || o == Opt::Ssl {
                    note(*seq, *b);
                }
            }
        }
        if !matches!(on, Some((_, true))) {
            return Ok(None);
        }
        let tls = server::TlsOptions {
            ca: self.path(Opt::SslCa),
            capath: self.path(Opt::SslCapath),
            cert: self.path(Opt::SslCert),
            key: self.path(Opt::SslKey),
            crl: self.path(Opt::SslCrl),
            crlpath: self.path(Opt::SslCrlpath),
            verify_server_cert: self.flag(Opt::SslVerifyServerCert),
        };
        tls.check()
            .map_err(|why| Error::new(ErrorKind::BadValue, why))?;
        Ok(Some(tls))
    }

    pub(super) fn build(&mut self) -> Result<Options, Error> {
        let port = match self.num(Opt::Port) {
            0 => None,
            p => Some(u16::try_from(p).map_err(|_| {
                // Deliberate difference: mariadb-backup accepts any unsigned int here.
                Error::new(
                    ErrorKind::BadValue,
                    format!(
                        "invalid value '{p}' for option 'port' (from {}): a TCP port is 1..65535",
                        self.setting(Opt::Port)
                            .map_or(Origin::Default, |s| s.origin.clone())
                    ),
                )
            })?),
        };
        let protocol = self.enum_idx(Opt::Protocol).map(|i| match i {
            0 => Protocol::Tcp,
            1 => Protocol::Socket,
            2 => Protocol::Pipe,
            _ => Protocol::Memory,
        });
        let binlog_info = match self.enum_idx(Opt::BinlogInfo) {
            Some(0) => BinlogInfo::Off,
            Some(1) => BinlogInfo::Lockless,
            Some(2) => BinlogInfo::On,
            // `--binlog-info` without a value: ON, the only reading that makes sense.
            None if self.given(Opt::BinlogInfo) => BinlogInfo::On,
            _ => BinlogInfo::Auto,
        };
        let checksum_algorithm = self
            .enum_idx(Opt::InnodbChecksumAlgorithm)
            .map(|i| match i {
                0 => ChecksumAlgorithm::Crc32,
                1 => ChecksumAlgorithm::StrictCrc32,
                2 => ChecksumAlgorithm::FullCrc32,
                _ => ChecksumAlgorithm::StrictFullCrc32,
            });
        let incremental = self.incremental()?;
        let history = match self.val(Opt::History) {
            Some(Val::Text(t)) => Some(Some(t.clone())),
            Some(Val::Absent) => Some(None),
            _ => None,
        };
        let connection = Connection {
            user: self.text(Opt::User),
            password: self.text(Opt::Password),
            host: self.text(Opt::Host),
            port,
            socket: self.path(Opt::Socket),
            protocol,
            tls: self.tls()?,
        };

        // --print-param only prints: nothing is backed up, so nothing is refused. Refusals
        // come before the mode checks: `--backup --decompress` is about --decompress.
        let print_param = self.flag(Opt::PrintParam);
        // Before the refusals: with --backup, mariadb-backup's own refusal (exit 1); --prepare
        // reads it, --copy-back ignores it (mariadb-backup starts no InnoDB there).
        let prepare_given = self.flag(Opt::Prepare) || self.flag(Opt::ApplyLog);
        if !print_param && self.flag(Opt::Backup) && !prepare_given {
            innodb_param::force_recovery_for_backup(
                self.num(Opt::InnodbForceRecovery),
                &self.origin(Opt::InnodbForceRecovery),
                if self.innobackupex {
                    "--apply-log"
                } else {
                    "--prepare"
                },
            )?;
        }
        if !print_param {
            let warnings = refuse::check(&self.settings)?;
            self.warnings.extend(warnings);
        }
        // --apply-log sets the same variable as --prepare in mariadb-backup: the later wins.
        let prepare = self.later(Opt::Prepare, Opt::ApplyLog);
        let modes = [
            (Opt::Backup, Mode::Backup),
            (prepare, Mode::Prepare),
            (Opt::CopyBack, Mode::CopyBack),
            (Opt::MoveBack, Mode::MoveBack),
            (Opt::Decompress, Mode::Decompress),
        ];
        let mut chosen: Vec<(usize, Mode)> = modes
            .iter()
            .filter(|(o, _)| self.flag(*o))
            .map(|(o, mode)| (self.setting(*o).map_or(0, |s| s.seq), *mode))
            .collect();
        // A text option that is also a mode: given (with a value) selects it.
        if let Some(s) = self.setting(Opt::RestoreTables) {
            if self.text(Opt::RestoreTables).is_some() {
                chosen.push((s.seq, Mode::RestoreTables));
            }
        }
        chosen.sort_by_key(|(seq, _)| *seq);
        let mode = match chosen.as_slice() {
            [] if print_param => None,
            [] => {
                return Err(Error::new(
                    ErrorKind::NoMode,
                    "no mode given: use --backup, --prepare, --copy-back or --move-back \
                     (see hotbackup --help)",
                ))
            }
            [(_, m)] => Some(*m),
            [(_, a), (_, b), ..] => {
                return Err(Error::new(
                    ErrorKind::TwoModes,
                    format!(
                        "{} and {} cannot be used together; give exactly one mode",
                        a.option(),
                        b.option()
                    ),
                ))
            }
        };

        innodb_param::write_ahead_size(
            self.num(Opt::InnodbLogWriteAheadSize),
            &self.origin(Opt::InnodbLogWriteAheadSize),
            mode,
        )?;
        let print_param = print_param.then(|| print_param::render(&self.settings));

        Ok(Options {
            mode,
            print_param,
            target_dir: self
                .path(Opt::TargetDir)
                .unwrap_or_else(|| PathBuf::from("./xtrabackup_backupfiles/")),
            connection,
            command_line_secrets: self.secrets.clone(),
            datadir: self.path(Opt::Datadir),
            innodb: Innodb {
                data_home_dir: self.path(Opt::InnodbDataHomeDir),
                log_group_home_dir: self.path(Opt::InnodbLogGroupHomeDir),
                undo_directory: self.path(Opt::InnodbUndoDirectory),
                data_file_path: self.text(Opt::InnodbDataFilePath),
                checksum_algorithm,
            },
            parallel: self.u32(Opt::Parallel),
            throttle: self.u32(Opt::Throttle),
            use_memory: self.unsigned(Opt::UseMemory),
            open_files_limit: self.unsigned(Opt::OpenFilesLimit),
            log_copy_interval_ms: self.unsigned(Opt::LogCopyInterval),
            extra_lsndir: self.path(Opt::ExtraLsndir),
            incremental,
            incremental_dir: self.path(Opt::IncrementalDir),
            no_lock: self.flag(Opt::NoLock),
            verbose: self.flag(Opt::Verbose),
            rocksdb_backup: self.flag(Opt::RocksdbBackup),
            slave_info: self.flag(Opt::SlaveInfo),
            safe_slave_backup: self.flag(Opt::SafeSlaveBackup),
            safe_slave_backup_timeout_s: self.unsigned(Opt::SafeSlaveBackupTimeout),
            galera_info: self.flag(Opt::GaleraInfo),
            history,
            binlog_info,
            stream: self.enum_idx(Opt::Stream).is_some(),
            // Given bare (`--compress`: quicklz) or with a value.
            compress: match self.val(Opt::Compress) {
                Some(Val::Absent | Val::Num(0)) => Some(sink::Codec::Quicklz),
                Some(Val::Num(1)) => Some(sink::Codec::Lz4),
                Some(Val::Num(_)) => Some(sink::Codec::Zstd {
                    level: self.u32(Opt::CompressZstdLevel) as i32,
                }),
                _ => None,
            },
            compress_threads: self.u32(Opt::CompressThreads),
            compress_chunk_size: self.unsigned(Opt::CompressChunkSize),
            check_privileges: self.flag(Opt::CheckPrivileges),
            // --ftwrl-wait-timeout is an alias: whichever was given later wins.
            startup_wait_timeout_s: self
                .unsigned(self.later(Opt::StartupWaitTimeout, Opt::FtwrlWaitTimeout)),
            log_innodb_page_corruption: self.flag(Opt::LogInnodbPageCorruption),
            extended_validation: self.flag(Opt::ExtendedValidation),
            core_file: matches!(self.val(Opt::CoreFile), Some(Val::Bool(true))),
            remove_original: self.flag(Opt::RemoveOriginal),
            force_non_empty_directories: self.flag(Opt::ForceNonEmptyDirectories),
            aria_log_dir_path: self.path(Opt::AriaLogDirPath),
            key_management: crate::keys::KeySettings::given(
                [Opt::PluginLoad, Opt::PluginLoadAdd]
                    .into_iter()
                    .filter_map(|o| self.text(o)),
                self.path(Opt::FileKeyManagementFilename),
                self.text(Opt::FileKeyManagementFilekey),
                self.enum_idx(Opt::FileKeyManagementEncryptionAlgorithm)
                    .map(|i| ["aes_cbc", "aes_ctr"][usize::try_from(i).unwrap_or(0).min(1)]),
            ),
            log_checkpoint_now: self.flag(Opt::InnodbLogCheckpointNow),
            innodb_force_recovery: self.u32(Opt::InnodbForceRecovery),
            export: self.flag(Opt::Export),
            // Set by `Engine::run`, which read the leading defaults arguments.
            defaults_file: None,
            defaults_group_suffix: None,
            partial: Partial {
                databases: self.text(Opt::Databases),
                databases_file: self.path(Opt::DatabasesFile),
                databases_exclude: self.text(Opt::DatabasesExclude),
                tables: self.text(Opt::Tables),
                tables_file: self.path(Opt::TablesFile),
                tables_exclude: self.text(Opt::TablesExclude),
            },
            restore_tables: self.text(Opt::RestoreTables),
            restore_as: self.text(Opt::RestoreAs),
            #[cfg(test)]
            origins: self
                .settings
                .iter()
                .map(|(k, s)| (*k, s.origin.clone()))
                .collect(),
        })
    }
}
