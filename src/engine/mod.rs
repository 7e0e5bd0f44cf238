//! Runs a notebook from top to bottom on a kernel, papermill-style: parameters injected,
//! outputs recorded as nbclient records them, the output notebook written after every
//! cell, and every way a run can end (error, timeout, dead kernel, cancel) reported
//! with the partial notebook on disk.

mod output_writer;
mod outputs;
mod papermill;
mod progress;
pub mod status;
#[cfg(test)]
mod tests;
mod timing;
mod widgets;

pub use output_writer::upload_interval;
pub use progress::{RunObserver, TerminalObserver};

use crate::error::{Error, Result};
use crate::kernel::{Event, Kernel, KernelSearch, KernelSpec, INTERRUPT_GRACE};
use crate::notebook::{cell_has_tag, cell_source, Notebook};
use crate::params::{self, Language, Parameters};
use crate::storage::{self, Location};
use chrono::Utc;
use output_writer::OutputWriter;
use outputs::{coalesce_streams, Effect, OutputRecorder};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub input: Location,
    /// The input as papermill's metadata records it (`input_path`); None: `input`. A
    /// background run reads a snapshot of the notebook and records the one submitted.
    pub recorded_input_path: Option<String>,
    /// Where the executed notebook goes: written after every cell locally, to Cloud Storage
    /// at most every `upload_every` and at the end. None: not written.
    pub output: Option<Location>,
    /// Default: `NOTEBOOK_EXECUTOR_UPLOAD_INTERVAL` seconds, else 5 s.
    pub upload_every: Option<Duration>,
    pub parameters: Parameters,
    /// Overrides the notebook's `metadata.kernelspec.name`.
    pub kernel_name: Option<String>,
    /// The kernel's working directory; default: the input notebook's folder.
    pub cwd: Option<PathBuf>,
    /// Whole run.
    pub timeout: Option<Duration>,
    pub cell_timeout: Option<Duration>,
    /// Go on after a failing cell.
    pub allow_errors: bool,
    /// Cells with this tag are not run (nbclient's `skip_cells_with_tag`); None: `skip-execution`.
    pub skip_cells_with_tag: Option<String>,
    pub search: KernelSearch,
    /// The kernel runs on another machine (a remote job, which has its own kernels): it is
    /// not looked up here, and the notebook's language decides how parameters are written.
    pub kernel_elsewhere: bool,
}

/// How long messages a dead kernel sent are waited for: they travel over loopback.
const MESSAGES_IN_FLIGHT_WAIT: Duration = Duration::from_millis(200);

/// nbclient's default `skip_cells_with_tag`.
pub const SKIP_TAG: &str = "skip-execution";

/// A notebook ready to run: read, kernel found, parameters injected. Everything that can
/// be wrong with the inputs is found here, before anything is written or started.
pub struct PreparedRun {
    pub notebook: Notebook,
    pub spec: KernelSpec,
    pub warnings: Vec<String>,
    options: RunOptions,
    output: OutputWriter,
}

pub async fn prepare(options: RunOptions) -> Result<PreparedRun> {
    let mut notebook = storage::read_notebook(&options.input).await?;
    let kernel_name = match options.kernel_name.clone().filter(|k| !k.is_empty()) {
        Some(name) => name,
        None => default_kernel_name(&notebook).ok_or_else(|| Error::NotebookFormat {
            path: PathBuf::from(options.input.to_string()),
            message: "the notebook names no kernel (metadata.kernelspec.name) nor a language; give a kernel name".into(),
        })?,
    };
    let spec = if options.kernel_elsewhere {
        KernelSpec {
            name: kernel_name.clone(),
            resource_dir: None,
            argv: vec![],
            display_name: kernel_name,
            language: notebook.language().unwrap_or("").to_owned(),
            env: Default::default(),
            interrupt_mode: crate::kernel::InterruptMode::Signal,
            env_prefix: None,
        }
    } else {
        options.search.find(&kernel_name)?
    };
    let language_name = if spec.language.is_empty() {
        notebook.language().unwrap_or("").to_owned()
    } else {
        spec.language.clone()
    };
    let mut warnings = Vec::new();
    let mut typed = options.parameters.clone();
    if !options.parameters.is_empty() {
        let language = Language::from_name(&language_name).ok_or_else(|| {
            Error::parameter(None, format!("parameters cannot be translated to the kernel's language {language_name:?} (Python, R and Julia can)"))
        })?;
        let (converted, w) = params::inject(&mut notebook, &options.parameters, language)?;
        typed = converted;
        warnings = w;
    }
    let defaults = Language::from_name(&language_name)
        .map(|language| params::notebook_defaults(&notebook, language))
        .unwrap_or_default();
    let default_parameters: serde_json::Map<String, Value> = defaults
        .iter()
        .map(|d| {
            (
                d.name.clone(),
                d.value
                    .as_ref()
                    .map(|v| v.to_json())
                    .unwrap_or_else(|| json!(d.source)),
            )
        })
        .collect();
    papermill::start_run(
        &mut notebook,
        json!({
            "default_parameters": default_parameters,
            "parameters": typed.to_json(),
            "environment_variables": {},
            "version": env!("CARGO_PKG_VERSION"),
            "input_path": options
                .recorded_input_path
                .clone()
                .unwrap_or_else(|| options.input.to_string()),
            "output_path": options.output.as_ref().map(Location::to_string),
            "start_time": null,
            "end_time": null,
            "duration": null,
            "exception": null,
        }),
    );
    let output = OutputWriter::new(options.output.clone(), options.upload_every);
    Ok(PreparedRun {
        notebook,
        spec,
        warnings,
        options,
        output,
    })
}

/// The notebook's kernel, or python3 for a Python notebook without a kernelspec.
fn default_kernel_name(notebook: &Notebook) -> Option<String> {
    if let Some(name) = notebook.kernel_name() {
        return Some(name.to_owned());
    }
    match notebook.language().and_then(Language::from_name) {
        Some(Language::Python) => Some("python3".into()),
        _ => None,
    }
}

/// How messages and the banner name the cell at `index`: by its prompt, `In [3]`, as the
/// result page and JupyterLab show it. A cell the kernel had not numbered yet (it died or
/// timed out first) gets the number after the last one given, as a dead kernel's cell is
/// recorded (skipped cells take none).
pub fn cell_label(cells: &[Value], index: usize) -> String {
    let count = cells[index]["execution_count"].as_i64().unwrap_or_else(|| {
        cells[..index]
            .iter()
            .rev()
            .find_map(|c| c["execution_count"].as_i64())
            .unwrap_or(0)
            + 1
    });
    format!("In [{count}]")
}

enum CellOutcome {
    Completed,
    /// A cell raised and the run stops.
    Failed {
        ename: String,
        evalue: String,
        traceback: Vec<String>,
    },
    /// `sys.exit()` / `sys.exit(0)`: the notebook ends, successfully (as papermill).
    Exited,
    TimedOut {
        message: String,
        run_timeout: bool,
    },
    Died(String),
    Cancelled,
}

impl PreparedRun {
    /// Runs the notebook. On failure the partial notebook is on disk (when an output path
    /// was given) with papermill's error banner, and the error says which cell.
    pub async fn run(
        self,
        observer: &mut dyn RunObserver,
        cancel: watch::Receiver<bool>,
    ) -> Result<Notebook> {
        self.run_on(None, observer, cancel).await
    }

    /// `run`, on a kernel started ahead of time when one of the notebook's kernelspec is
    /// given (it is made to stand where a fresh one would: see `Kernel::adopt`); on a
    /// fresh one otherwise.
    pub async fn run_on(
        mut self,
        warm: Option<Kernel>,
        observer: &mut dyn RunObserver,
        mut cancel: watch::Receiver<bool>,
    ) -> Result<Notebook> {
        for warning in &self.warnings {
            observer.warning(warning);
        }
        let started = Utc::now();
        let run_deadline = self.options.timeout.map(|t| Instant::now() + t);
        self.notebook.metadata_mut()["papermill"]["start_time"] =
            json!(papermill::timestamp(started));
        self.write().await?;

        // Default: the notebook's folder, as papermill; for a notebook in Cloud Storage,
        // the current directory.
        let cwd = match (&self.options.cwd, self.options.input.as_local()) {
            (Some(dir), _) => dir.clone(),
            (None, Some(input)) => absolute_parent(input),
            (None, None) => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        };
        if !cwd.is_dir() {
            return Err(Error::io(
                &cwd,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "the working directory does not exist",
                ),
            ));
        }
        let warm = match warm {
            Some(kernel) if kernel.spec.name == self.spec.name => Some(kernel),
            Some(other) => {
                other.shutdown().await;
                None
            }
            None => None,
        };
        let start = async {
            match warm {
                Some(kernel) => kernel.adopt(&cwd).await,
                None => Kernel::start(&self.spec, &cwd).await,
            }
        };
        let mut kernel = tokio::select! {
            kernel = start => match kernel {
                Ok(kernel) => kernel,
                Err(e) => return self.fail_before_cells(started, e).await,
            },
            _ = wait_cancelled(&mut cancel) => return self.fail_before_cells(started, Error::Cancelled).await,
        };
        if kernel.language_info.is_object() {
            self.notebook
                .metadata_mut()
                .insert("language_info".into(), kernel.language_info.clone());
        }

        let mut recorder = OutputRecorder::default();
        let skip_tag = self.options.skip_cells_with_tag.clone();
        let skip_tag = skip_tag.as_deref().unwrap_or(SKIP_TAG);
        let total = self.notebook.cells().len();
        let mut index = 0;
        // The count the kernel gives the next cell it runs: one more than the last it gave.
        let mut next_count: i64 = 1;
        let failure = loop {
            if index >= total {
                break None;
            }
            let cell_started = Utc::now();
            papermill::cell_started(&mut self.notebook.cells_mut()[index], cell_started);
            observer.cell_started(index, total);
            let cell = &self.notebook.cells()[index];
            let source = cell_source(cell);
            let runs = cell["cell_type"] == "code"
                && !source.trim().is_empty()
                && !cell_has_tag(cell, skip_tag);
            let outcome = if runs {
                let allowed = self.options.allow_errors || cell_has_tag(cell, "raises-exception");
                self.run_cell(
                    &mut kernel,
                    &mut recorder,
                    index,
                    &source,
                    allowed,
                    run_deadline,
                    observer,
                    &mut cancel,
                )
                .await?
            } else {
                CellOutcome::Completed
            };
            let cell = &mut self.notebook.cells_mut()[index];
            if runs {
                match cell["execution_count"].as_i64() {
                    Some(count) => next_count = count + 1,
                    // A kernel killed at once may die before it says the count it gave
                    // the cell; the banner must still point at the cell.
                    None if matches!(outcome, CellOutcome::Died(_)) => {
                        cell["execution_count"] = json!(next_count)
                    }
                    None => next_count += 1,
                }
            }
            if let Some(outputs) = cell.get_mut("outputs").and_then(Value::as_array_mut) {
                coalesce_streams(outputs);
            }
            let failed = !matches!(outcome, CellOutcome::Completed | CellOutcome::Exited)
                || (self.options.allow_errors && has_error_output(cell));
            papermill::cell_finished(cell, cell_started, Utc::now(), failed);
            observer.cell_finished(index, total);
            match outcome {
                CellOutcome::Completed => {}
                CellOutcome::Exited => break None,
                other => break Some((index, other)),
            }
            self.write().await?;
            index += 1;
        };

        if let Some(widgets) = recorder.widgets.metadata() {
            self.notebook
                .metadata_mut()
                .insert("widgets".into(), widgets);
        }
        let Some((index, outcome)) = failure else {
            papermill::run_finished(&mut self.notebook, started, Utc::now(), false);
            self.finish_writing().await?;
            observer.finished();
            observer.succeeded();
            kernel.shutdown().await;
            return Ok(self.notebook);
        };
        let execution_count = self.notebook.cells()[index]["execution_count"].as_i64();
        let error = match outcome {
            CellOutcome::Failed {
                ename,
                evalue,
                traceback,
            } => Error::CellExecution {
                cell_index: index,
                execution_count,
                ename,
                evalue,
                traceback,
            },
            CellOutcome::TimedOut {
                message,
                run_timeout,
            } => Error::Timeout {
                cell_index: Some(index),
                run_timeout,
                message,
            },
            CellOutcome::Died(message) => Error::KernelDied {
                cell_index: Some(index),
                message,
            },
            CellOutcome::Cancelled => Error::Cancelled,
            CellOutcome::Completed | CellOutcome::Exited => {
                unreachable!("successful outcomes end the loop without failure")
            }
        };
        let label = self.cell_label(index);
        papermill::insert_error_banner(&mut self.notebook, index, &label);
        papermill::run_finished(&mut self.notebook, started, Utc::now(), true);
        self.finish_writing().await?;
        observer.finished();
        kernel.kill().await;
        Err(error)
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_cell(
        &mut self,
        kernel: &mut Kernel,
        recorder: &mut OutputRecorder,
        index: usize,
        source: &str,
        errors_allowed: bool,
        run_deadline: Option<Instant>,
        observer: &mut dyn RunObserver,
        cancel: &mut watch::Receiver<bool>,
    ) -> Result<CellOutcome> {
        recorder.start_cell();
        timing::start(&mut self.notebook.cells_mut()[index]);
        let request = kernel.execute(source, !errors_allowed).await?;
        let cell_deadline = self.options.cell_timeout.map(|t| Instant::now() + t);
        let deadline = [cell_deadline, run_deadline].into_iter().flatten().min();
        // Why, whether the whole run's timeout, and until when the interrupted kernel may answer.
        let mut timed_out: Option<(String, bool, Instant)> = None;
        let mut reply: Option<Value> = None;
        let mut idle = false;
        while !(idle && reply.is_some()) {
            let hard_deadline = timed_out.as_ref().map(|(_, _, until)| *until).or(deadline);
            let wake = hard_deadline.map_or(Instant::now() + Duration::from_secs(1), |d| {
                d.min(Instant::now() + Duration::from_secs(1))
            });
            let event = tokio::select! {
                event = kernel.next_event(wake) => event?,
                _ = wait_cancelled(cancel) => return Ok(CellOutcome::Cancelled),
            };
            match event {
                Event::IoPub(msg) if msg.parent_msg_id.as_deref() == Some(request.as_str()) => {
                    timing::record(&mut self.notebook.cells_mut()[index], &msg);
                    match recorder.handle(self.notebook.cells_mut(), index, &msg) {
                        Effect::ExecutionCount(count) => {
                            self.notebook.cells_mut()[index]["execution_count"] = count
                        }
                        Effect::Idle => idle = true,
                        Effect::Output { stream: true } => observer.stream(
                            msg.content["name"].as_str().unwrap_or("stdout"),
                            msg.content["text"].as_str().unwrap_or(""),
                        ),
                        Effect::WidgetOutput(sync) => {
                            // A kernel that cannot take it is dead, which the next event says.
                            let _ = kernel
                                .comm_msg(&sync.comm_id, sync.data, &sync.parent)
                                .await;
                        }
                        Effect::Output { stream: false } | Effect::None => {}
                    }
                }
                Event::Shell(msg)
                    if msg.parent_msg_id.as_deref() == Some(request.as_str())
                        && msg.msg_type == "execute_reply" =>
                {
                    timing::record(&mut self.notebook.cells_mut()[index], &msg);
                    reply = Some(msg.content)
                }
                Event::IoPub(_) | Event::Shell(_) => {}
                Event::Died(how) => {
                    self.take_messages_in_flight(kernel, recorder, index, &request)
                        .await;
                    return Ok(match timed_out {
                        Some((message, run_timeout, _)) => CellOutcome::TimedOut {
                            message,
                            run_timeout,
                        },
                        None => CellOutcome::Died(format!(
                            "the kernel died while running {}: {how}",
                            self.cell_label(index)
                        )),
                    });
                }
                Event::Deadline => {
                    let now = Instant::now();
                    if let Some((message, run_timeout, until)) = &timed_out {
                        if now >= *until {
                            // The interrupt was not enough: the kernel is stuck.
                            return Ok(CellOutcome::TimedOut {
                                message: message.clone(),
                                run_timeout: *run_timeout,
                            });
                        }
                    } else if deadline.is_some_and(|d| now >= d) {
                        let cell_expired = cell_deadline.is_some_and(|c| now >= c);
                        let why = if cell_expired {
                            format!(
                                "{} did not finish within {}s (cell timeout)",
                                self.cell_label(index),
                                self.options.cell_timeout.unwrap_or_default().as_secs_f64()
                            )
                        } else {
                            format!(
                                "the run did not finish within {}s (timeout); stopped at {}",
                                self.options.timeout.unwrap_or_default().as_secs_f64(),
                                self.cell_label(index)
                            )
                        };
                        kernel.interrupt().await;
                        timed_out = Some((why, !cell_expired, now + INTERRUPT_GRACE));
                    } else {
                        observer.tick();
                    }
                }
            }
        }
        if let Some((message, run_timeout, _)) = timed_out {
            return Ok(CellOutcome::TimedOut {
                message,
                run_timeout,
            });
        }
        let reply = reply.unwrap_or_default();
        if let Some(count) = reply.get("execution_count").filter(|c| c.is_i64()) {
            self.notebook.cells_mut()[index]["execution_count"] = count.clone();
        }
        Ok(match reply["status"].as_str() {
            Some("ok") => CellOutcome::Completed,
            _ if reply["ename"] == "SystemExit"
                && matches!(reply["evalue"].as_str(), Some("" | "0")) =>
            {
                CellOutcome::Exited
            }
            _ if errors_allowed => CellOutcome::Completed,
            Some("aborted") => CellOutcome::Failed {
                ename: "ExecutionAborted".into(),
                evalue: "the kernel aborted the execution".into(),
                traceback: vec![],
            },
            _ => CellOutcome::Failed {
                ename: reply["ename"].as_str().unwrap_or("Error").to_owned(),
                evalue: reply["evalue"].as_str().unwrap_or("").to_owned(),
                traceback: reply["traceback"]
                    .as_array()
                    .map(|t| {
                        t.iter()
                            .filter_map(|l| l.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            },
        })
    }

    /// What a kernel that died sent before it died may still be on its way (the count it
    /// gave the cell, the cell's last output): recorded as if it had arrived in time.
    async fn take_messages_in_flight(
        &mut self,
        kernel: &mut Kernel,
        recorder: &mut OutputRecorder,
        index: usize,
        request: &str,
    ) {
        let until = Instant::now() + MESSAGES_IN_FLIGHT_WAIT;
        while let Some(event) = kernel.message_in_flight(until).await {
            let Event::IoPub(msg) = event else { continue };
            if msg.parent_msg_id.as_deref() != Some(request) {
                continue;
            }
            timing::record(&mut self.notebook.cells_mut()[index], &msg);
            if let Effect::ExecutionCount(count) =
                recorder.handle(self.notebook.cells_mut(), index, &msg)
            {
                self.notebook.cells_mut()[index]["execution_count"] = count;
            }
        }
    }

    /// The cell at `index` as messages name it (see `cell_label`).
    fn cell_label(&self, index: usize) -> String {
        cell_label(self.notebook.cells(), index)
    }

    async fn fail_before_cells(
        mut self,
        started: chrono::DateTime<Utc>,
        error: Error,
    ) -> Result<Notebook> {
        papermill::run_finished(&mut self.notebook, started, Utc::now(), true);
        self.finish_writing().await?;
        Err(error)
    }

    /// The notebook so far (throttled for Cloud Storage).
    async fn write(&mut self) -> Result<()> {
        self.output.write(&self.notebook, false).await
    }

    /// The notebook as the run ended, written whatever the throttle.
    async fn finish_writing(&mut self) -> Result<()> {
        self.output.write(&self.notebook, true).await
    }
}

fn has_error_output(cell: &Value) -> bool {
    cell["outputs"]
        .as_array()
        .is_some_and(|outs| outs.iter().any(|o| o["output_type"] == "error"))
}

fn absolute_parent(path: &Path) -> PathBuf {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."));
    std::path::absolute(&parent).unwrap_or(parent)
}

async fn wait_cancelled(cancel: &mut watch::Receiver<bool>) {
    if cancel.wait_for(|cancelled| *cancelled).await.is_err() {
        // The sender is gone: nobody can cancel any more.
        std::future::pending::<()>().await;
    }
}

/// Prepares and runs in one go.
pub async fn execute(
    options: RunOptions,
    observer: &mut dyn RunObserver,
    cancel: watch::Receiver<bool>,
) -> Result<Notebook> {
    execute_on(options, None, observer, cancel).await
}

/// `execute`, on `warm` (a kernel started ahead) when it is of the notebook's kernelspec;
/// a warm kernel of another is shut down and a fresh one started.
pub async fn execute_on(
    options: RunOptions,
    warm: Option<Kernel>,
    observer: &mut dyn RunObserver,
    cancel: watch::Receiver<bool>,
) -> Result<Notebook> {
    match prepare(options).await {
        Ok(prepared) => prepared.run_on(warm, observer, cancel).await,
        Err(e) => {
            if let Some(kernel) = warm {
                kernel.shutdown().await;
            }
            Err(e)
        }
    }
}
