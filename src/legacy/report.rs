//! The import's report: every finding as one JSON line in a file (for
//! machines), and a summary of the counts (for the operator's terminal).

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::ImportError;
use super::clean::{Action, Finding, Rule};

/// What an import did, in numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Legacy rows read.
    pub read: u64,
    /// New users (not counted on a dry run).
    pub inserted: u64,
    /// Users of ours replaced by a newer legacy row.
    pub updated: u64,
    /// Users of ours already as new as the legacy row.
    pub unchanged: u64,
    /// Rows that would be imported (dry run only).
    pub importable: u64,
    /// Rows not imported.
    pub skipped: u64,
    /// Findings by rule and action.
    pub findings: BTreeMap<(Rule, Action), u64>,
    pub report_path: PathBuf,
}

impl Summary {
    /// Whether any row or value was rejected or changed.
    pub fn rejected_anything(&self) -> bool {
        !self.findings.is_empty()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "read {} legacy users; ", self.read)?;
        if self.importable > 0 {
            write!(f, "{} would be imported (dry run)", self.importable)?;
        } else {
            write!(
                f,
                "{} inserted, {} updated, {} unchanged",
                self.inserted, self.updated, self.unchanged
            )?;
        }
        writeln!(f, ", {} skipped", self.skipped)?;
        if self.findings.is_empty() {
            return writeln!(f, "no value was rejected or changed");
        }
        writeln!(
            f,
            "findings (one JSON line each in {}):",
            self.report_path.display()
        )?;
        for ((rule, action), n) in &self.findings {
            let rule = serde_json::to_value(rule).unwrap_or_default();
            let rule = rule.as_str().unwrap_or_default();
            writeln!(f, "  {rule:<30} {n:>8}  {}", action.describe())?;
        }
        Ok(())
    }
}

pub struct Report {
    out: BufWriter<File>,
    path: PathBuf,
    pub summary: Summary,
}

impl Report {
    pub fn create(path: &Path) -> Result<Self, ImportError> {
        let file = File::create(path).map_err(|source| ImportError::Report {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            out: BufWriter::new(file),
            path: path.to_owned(),
            summary: Summary {
                report_path: path.to_owned(),
                ..Summary::default()
            },
        })
    }

    pub fn write_all(&mut self, findings: &[Finding]) -> Result<(), ImportError> {
        for finding in findings {
            *self
                .summary
                .findings
                .entry((finding.rule, finding.action))
                .or_default() += 1;
            serde_json::to_writer(&mut self.out, finding)
                .map_err(std::io::Error::from)
                .and_then(|()| self.out.write_all(b"\n"))
                .map_err(|source| ImportError::Report {
                    path: self.path.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<Summary, ImportError> {
        self.out.flush().map_err(|source| ImportError::Report {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.summary)
    }
}
