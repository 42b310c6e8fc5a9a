//! Tenants (networks) on disk and at run time.
//!
//! Layout of the data folder:
//!
//! ```text
//! DATA/host.sqlite                      tenants and token hashes (auth.rs)
//! DATA/tenants/NAME/journal.sqlite      one tenant's journal (journal.rs)
//! DATA/tenants/NAME/snapshots.sqlite    its engine snapshots (snapshot.rs)
//! ```
//!
//! Each running tenant has its own engine instance and its own writer
//! thread; nothing is shared between tenants but the HTTP listener.

use crate::backend::BackendFactory;
use crate::commit::{Writer, WriterConfig};
use crate::journal::{self, Journal};
use anyhow::Result;
use enlace_core::Entry;
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Where a tenant's journal lives.
pub fn journal_path(data: &Path, tenant: &str) -> PathBuf {
    data.join("tenants").join(tenant).join("journal.sqlite")
}

/// A running tenant.
#[derive(Debug)]
pub struct Tenant {
    pub name: String,
    pub writer: Writer,
    /// Who was shown which beneficiary (`reads.sqlite` beside the journal).
    pub reads: crate::reads::ReadLog,
    journal_path: PathBuf,
    /// Lazily opened read-only connection for the event feed.
    reader: Mutex<Option<Connection>>,
}

impl Tenant {
    /// Reads committed entries after `after` (at most `limit`) without
    /// going through the writer.
    pub fn read_after(&self, after: u64, limit: u64) -> Result<Vec<Entry>> {
        let mut guard = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(journal::open_reader(&self.journal_path)?);
        }
        match guard.as_ref() {
            Some(conn) => journal::read_after(conn, after, limit),
            None => Ok(Vec::new()),
        }
    }
}

/// Every tenant the server runs.
#[derive(Debug, Default)]
pub struct Tenants {
    map: BTreeMap<String, Arc<Tenant>>,
}

impl Tenants {
    /// Starts a writer for each named tenant, loading its journal.
    pub fn start(
        data: &Path,
        names: &[String],
        factory: &BackendFactory,
        config: WriterConfig,
    ) -> Result<Tenants> {
        let mut map = BTreeMap::new();
        for name in names {
            let path = journal_path(data, name);
            let journal = Journal::open(&path)?;
            let engine = factory()?;
            let writer = Writer::start(name, engine, journal, config)
                .map_err(|e| e.context(format!("loading tenant {name}")))?;
            map.insert(
                name.clone(),
                Arc::new(Tenant {
                    name: name.clone(),
                    writer,
                    reads: crate::reads::ReadLog::start(&path)
                        .map_err(|e| e.context(format!("loading tenant {name}")))?,
                    journal_path: path,
                    reader: Mutex::new(None),
                }),
            );
        }
        Ok(Tenants { map })
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Tenant>> {
        self.map.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Tenant>> {
        self.map.values()
    }

    /// Stops every writer after it has committed what it has queued.
    /// Blocking: call it outside the async runtime's worker threads.
    pub fn stop(&self) {
        for t in self.map.values() {
            t.writer.stop();
        }
    }
}
