//! Billing work that outlives the request that started it. A sandbox clock advance runs as a
//! job on its own task, so it finishes even when its client goes away; the request waits a
//! little for it, and anyone may look it up by id afterwards.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::watch;

use super::attempts::Tally;
use crate::vault::crypto::random_alphanumeric;
use crate::vault::error::VaultError;

/// Jobs kept for lookup; older ones are forgotten (a running one still runs to its end).
const KEPT: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Running,
    Complete,
    Failed,
}

/// What a job has done so far.
#[derive(Debug, Clone, Serialize)]
pub struct JobReport {
    pub job_id: String,
    pub merchant_id: i64,
    pub status: JobStatus,
    /// The merchant's time once the clock moved, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now: Option<String>,
    /// The merchant's date once the clock moved, which billing goes by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub today: Option<String>,
    /// Payment attempts recorded so far.
    pub approved: u64,
    pub declined: u64,
    /// Why a failed job stopped (the error's public message).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip)]
    pub failure: Option<VaultError>,
}

/// A running job's handle on its own report.
pub struct Progress {
    report: watch::Sender<JobReport>,
}

impl Progress {
    pub fn clock_moved(&self, now: DateTime<Utc>) {
        self.report.send_modify(|report| {
            report.now = Some(now.to_rfc3339());
            report.today = Some(now.date_naive().format("%Y-%m-%d").to_string());
        });
    }

    pub fn billed(&self, total: Tally) {
        self.report.send_modify(|report| {
            report.approved = total.approved;
            report.declined = total.declined;
        });
    }
}

#[derive(Default)]
pub struct Jobs {
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    by_id: HashMap<String, watch::Receiver<JobReport>>,
    order: VecDeque<String>,
}

impl Jobs {
    /// Starts `work` on a task of its own and returns a receiver of its report, which changes
    /// as the work goes on and ends as complete or failed.
    pub fn start<W, F>(&self, merchant_id: i64, work: W) -> watch::Receiver<JobReport>
    where
        W: FnOnce(Progress) -> F,
        F: Future<Output = Result<(), VaultError>> + Send + 'static,
    {
        let job_id = random_alphanumeric(16);
        let (sender, receiver) = watch::channel(JobReport {
            job_id: job_id.clone(),
            merchant_id,
            status: JobStatus::Running,
            now: None,
            today: None,
            approved: 0,
            declined: 0,
            error: None,
            failure: None,
        });
        {
            let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
            table.by_id.insert(job_id.clone(), receiver.clone());
            table.order.push_back(job_id);
            while table.order.len() > KEPT {
                if let Some(old) = table.order.pop_front() {
                    table.by_id.remove(&old);
                }
            }
        }
        let report = sender.clone();
        let work = work(Progress { report: sender });
        tokio::spawn(async move {
            let result = work.await;
            report.send_modify(|report| match result {
                Ok(()) => report.status = JobStatus::Complete,
                Err(error) => {
                    if let VaultError::Internal(cause) = &error {
                        tracing::error!(%cause, job_id = %report.job_id, "billing job failed");
                    }
                    report.status = JobStatus::Failed;
                    report.error = Some(error.to_string());
                    report.failure = Some(error);
                }
            });
        });
        receiver
    }

    /// The merchant's job with this id; another merchant's job is "no such job".
    pub fn get(&self, merchant_id: i64, job_id: &str) -> Option<watch::Receiver<JobReport>> {
        let table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table
            .by_id
            .get(job_id)
            .filter(|job| job.borrow().merchant_id == merchant_id)
            .cloned()
    }
}
