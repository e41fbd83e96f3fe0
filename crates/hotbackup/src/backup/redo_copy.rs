//! Starting the redo copy into the sink's `ib_logfile0`: its own LSN session (which doubles
//! as the watchdog that notices a server gone away) and the DDL it reports.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use server::Session;

use super::files::sink_failure;
use super::{ddl, discover, Context, LSN_SESSION_TIMEOUT};
use crate::failure::Failure;

pub(super) fn start_tailer(
    ctx: &Context,
    ddl_ops: &Arc<Mutex<Vec<ddl::DdlOp>>>,
) -> Result<redo_tailer::TailerHandle, Failure> {
    let (opts, conn, vars, paths, sink) = (ctx.opts, ctx.conn, ctx.vars, ctx.paths, ctx.sink);
    let log_dir = discover::resolve(
        &paths.datadir,
        vars.get("innodb_log_group_home_dir").unwrap_or("./"),
    );
    let backup_log = Path::new("ib_logfile0");
    let mut config =
        redo_tailer::TailerConfig::new(log_dir.join("ib_logfile0"), sink.describe(backup_log));
    let out = sink
        .create(backup_log)
        .map_err(|e| sink_failure(sink, backup_log, e))?;
    config.max_poll_interval = Duration::from_millis(opts.log_copy_interval_ms.max(1));
    config.keys = ctx.encryption.keys.clone();
    if ctx.innodb_off {
        // Nothing writes this log: no server to ask how far it is durable.
        config.limit_to_flushed = false;
        return Ok(redo_tailer::start_into(
            config,
            out,
            Box::new(|| None),
            Box::new(|_| {}),
        )?);
    }
    // Its own connection, as mariadb-backup's log copier: never blocked by the stage locks.
    // With a timeout: a frozen server fails the LSN query instead of hanging it forever.
    let mut lsn_conn = conn.clone();
    lsn_conn.io_timeout = Some(LSN_SESSION_TIMEOUT);
    let mut lsn_session = Session::connect(&lsn_conn)?;
    lsn_session.set_watchdog(ctx.watch.watchdog.clone());
    // This connection is also the backup's watchdog: a failed LSN query followed by a
    // failed reconnect means the server is gone (killed, crashed, shut down, frozen).
    let reconnect = lsn_conn;
    let watch = ctx.watch.clone();
    let lsns = |(current, flushed)| redo_tailer::ServerLsns { current, flushed };
    let server_lsn = Box::new(move || match lsn_session.innodb_lsns() {
        Ok(v) => Some(lsns(v)),
        // Cut by the watchdog (silent server, signal): it has the verdict; a reconnect would
        // only wait.
        Err(server::ServerError::Interrupted { .. }) => None,
        Err(query) => match Session::connect(&reconnect) {
            Ok(mut session) => {
                session.set_watchdog(watch.watchdog.clone());
                lsn_session = session;
                lsn_session.innodb_lsns().ok().map(lsns)
            }
            Err(server::ServerError::Unreachable { reason, .. }) => {
                watch.set_gone(format!("{query}; reconnecting failed: {reason}"));
                None
            }
            Err(_) => None,
        },
    });
    let ops = Arc::clone(ddl_ops);
    // Spaces with a FILE_DELETE so far: a FILE_MODIFY of one of them (IMPORT TABLESPACE
    // brings a discarded table's space id back) is DDL; every other FILE_MODIFY is not.
    let mut deleted = std::collections::HashSet::new();
    let on_file_op = Box::new(move |op: redo_tailer::FileOp| {
        let op = match op {
            redo_tailer::FileOp::Create { space, path, .. } => ddl::DdlOp::Create { space, path },
            redo_tailer::FileOp::Rename { space, to, .. } => ddl::DdlOp::Rename { space, to },
            redo_tailer::FileOp::Delete { space, .. } => {
                deleted.insert(space);
                ddl::DdlOp::Delete { space }
            }
            redo_tailer::FileOp::Modify { space, path, .. } if deleted.remove(&space) => {
                ddl::DdlOp::Reattach { space, path }
            }
            redo_tailer::FileOp::InitPage0 { space, .. } => ddl::DdlOp::Reinit { space },
            _ => return,
        };
        ops.lock().unwrap_or_else(|p| p.into_inner()).push(op);
    });
    Ok(redo_tailer::start_into(
        config, out, server_lsn, on_file_op,
    )?)
}
