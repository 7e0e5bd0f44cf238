//! Schedules in the service: create (validated like a submission), read, edit, pause,
//! resume, run now, delete, and the firing step the scheduler calls.

use super::Service;
use crate::error::{Error, Result};
use crate::model::MissedRuns;
use crate::model::{Execution, ExecutionSpec, State};
use crate::model::{Schedule, ScheduleChanges, ScheduleFields, ScheduleState};
use crate::schedule::plan::{plan, Fire, ON_TIME_WITHIN};
use crate::schedule::{instant_text, parse_instant, CronSchedule};
use crate::storage::Location;
use crate::store::{now_text, Due, DueKey, DueSchedule, Firing};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;

/// Due schedules fired per transaction (the rest follow at once in the next one).
const FIRE_BATCH: i64 = 2000;

pub struct SchedulePage {
    pub items: Vec<Schedule>,
    pub next_page_token: Option<String>,
}

impl Service {
    /// Checks the cron, the zone and the template (as a submission), then records the
    /// schedule ENABLED with its first slot.
    pub async fn create_schedule(&self, fields: ScheduleFields) -> Result<Schedule> {
        check_schedule_sizes(
            &fields.display_name,
            &fields.cron_schedule,
            &fields.time_zone,
        )?;
        let mut template = fields.execution_template.unwrap_or_default();
        let cron = CronSchedule::parse(
            fields.cron_schedule.as_deref().unwrap_or(""),
            fields.time_zone.as_deref().unwrap_or(""),
        )?;
        self.check_template(&mut template).await?;
        let now = now_text();
        let schedule = Schedule {
            id: uuid::Uuid::new_v4().simple().to_string(),
            display_name: fields
                .display_name
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| template.display_name.clone()),
            cron_schedule: cron.expression().to_owned(),
            time_zone: cron.time_zone_name.clone(),
            state: ScheduleState::Enabled,
            missed_runs: fields.missed_runs.unwrap_or_default(),
            execution_template: template,
            create_time: now.clone(),
            update_time: now,
            next_run_time: cron.next_after(jiff::Timestamp::now()).map(instant_text),
            last_execution: None,
        };
        self.store.insert_schedule(&schedule).await?;
        self.schedules_changed.notify_one();
        Ok(schedule)
    }

    async fn check_template(&self, template: &mut ExecutionSpec) -> Result<()> {
        if template.idempotency_token.is_some()
            || template.schedule_id.is_some()
            || template.scheduled_time.is_some()
        {
            return Err(Error::invalid("execution_template", "idempotency_token, schedule_id and scheduled_time are set per run, not in a template"));
        }
        self.validate_spec(template).await.map(drop)
    }

    pub async fn get_schedule(&self, id: &str) -> Result<Schedule> {
        self.store.get_schedule(id).await
    }

    pub async fn list_schedules(
        &self,
        state: Option<ScheduleState>,
        page_size: i64,
        page_token: Option<&str>,
    ) -> Result<SchedulePage> {
        if !(1..=1000).contains(&page_size) {
            return Err(Error::invalid("page_size", "must be between 1 and 1000"));
        }
        let before = page_token
            .filter(|t| !t.is_empty())
            .map(super::decode_token)
            .transpose()?;
        let (items, next) = self.store.list_schedules(state, page_size, before).await?;
        Ok(SchedulePage {
            items,
            next_page_token: next.map(super::encode_token),
        })
    }

    /// Edits take effect for the next slot; a new cron or zone recomputes it. Template
    /// fields are merged into the template, which is then checked as a whole.
    pub async fn update_schedule(&self, id: &str, fields: ScheduleChanges) -> Result<Schedule> {
        check_schedule_sizes(
            &fields.display_name,
            &fields.cron_schedule,
            &fields.time_zone,
        )?;
        let mut schedule = self.store.get_schedule(id).await?;
        let timing_changed = fields.cron_schedule.is_some() || fields.time_zone.is_some();
        let cron = CronSchedule::parse(
            fields
                .cron_schedule
                .as_deref()
                .unwrap_or(&schedule.cron_schedule),
            fields.time_zone.as_deref().unwrap_or(&schedule.time_zone),
        )?;
        if let Some(changes) = fields.execution_template {
            let mut template = merged(&schedule.execution_template, changes)?;
            self.check_template(&mut template).await?;
            schedule.execution_template = template;
        }
        if let Some(name) = fields.display_name {
            schedule.display_name = name;
        }
        if let Some(missed_runs) = fields.missed_runs {
            schedule.missed_runs = missed_runs;
        }
        schedule.cron_schedule = cron.expression().to_owned();
        schedule.time_zone = cron.time_zone_name.clone();
        if timing_changed && schedule.state == ScheduleState::Enabled {
            schedule.next_run_time = cron.next_after(jiff::Timestamp::now()).map(instant_text);
        }
        self.save(&mut schedule).await
    }

    /// Paused: kept, fires nothing, no next run.
    pub async fn pause_schedule(&self, id: &str) -> Result<Schedule> {
        let mut schedule = self.store.get_schedule(id).await?;
        schedule.state = ScheduleState::Paused;
        schedule.next_run_time = None;
        self.save(&mut schedule).await
    }

    /// Resumed: the next slot from now on (the paused period is not replayed).
    pub async fn resume_schedule(&self, id: &str) -> Result<Schedule> {
        let mut schedule = self.store.get_schedule(id).await?;
        if schedule.state == ScheduleState::Enabled {
            return Ok(schedule);
        }
        let cron = CronSchedule::parse(&schedule.cron_schedule, &schedule.time_zone)?;
        schedule.state = ScheduleState::Enabled;
        schedule.next_run_time = cron.next_after(jiff::Timestamp::now()).map(instant_text);
        self.save(&mut schedule).await
    }

    async fn save(&self, schedule: &mut Schedule) -> Result<Schedule> {
        schedule.update_time = now_text();
        if !self.store.update_schedule(schedule).await? {
            return Err(Error::NotFound {
                kind: "schedule",
                id: schedule.id.clone(),
            });
        }
        self.schedules_changed.notify_one();
        self.store.get_schedule(&schedule.id).await
    }

    /// An execution from the template now, with `parameters` over the template's.
    pub async fn run_schedule_now(
        &self,
        id: &str,
        parameters: Option<Map<String, Value>>,
    ) -> Result<Execution> {
        let schedule = self.store.get_schedule(id).await?;
        let mut spec = schedule.execution_template;
        if let Some(parameters) = parameters {
            spec.parameters.extend(parameters);
        }
        spec.schedule_id = Some(schedule.id);
        self.submit(spec).await
    }

    /// Deletes the schedule; its executions are kept.
    pub async fn delete_schedule(&self, id: &str) -> Result<()> {
        if !self.store.delete_schedule(id).await? {
            return Err(Error::NotFound {
                kind: "schedule",
                id: id.to_owned(),
            });
        }
        self.schedules_changed.notify_one();
        Ok(())
    }

    /// Fires every schedule due at `now` (the scheduler's clock, injectable for tests):
    /// one execution per slot the missed-runs rule picks, then starts work. Returns the
    /// executions created by this call.
    pub async fn fire_due(&self, now: jiff::Timestamp) -> Result<Vec<Execution>> {
        self.fire_due_prepared(now, None).await
    }

    /// Builds, ahead of `slot`, the executions its schedules will create (snapshots
    /// included), so that at the slot only the writes remain. What changes meanwhile (an
    /// edit, a pause, another process firing) is checked again at the slot.
    pub async fn prepare_firing(&self, slot: jiff::Timestamp) -> Result<PreparedFiring> {
        let slot_text = instant_text(slot);
        let mut context = FireContext::default();
        let mut firings = HashMap::new();
        for schedule in self.store.schedules_due_at(&slot_text).await? {
            let due = DueSchedule { schedule };
            let firing = self.firing(&due, slot, &mut context);
            firings.insert(
                due.schedule.id.clone(),
                (due.schedule.update_time.clone(), firing),
            );
        }
        Ok(PreparedFiring {
            slot,
            slot_text,
            firings,
        })
    }

    /// Removes the snapshots of prepared executions that were not created.
    pub fn discard_prepared(&self, prepared: PreparedFiring) {
        for (_, firing) in prepared.firings.into_values() {
            for e in firing.executions {
                let _ = std::fs::remove_file(self.staged_input(&e.id));
            }
        }
    }

    pub async fn fire_due_prepared(
        &self,
        now: jiff::Timestamp,
        mut prepared: Option<PreparedFiring>,
    ) -> Result<Vec<Execution>> {
        let now_str = instant_text(now);
        let mut context = FireContext::default();
        let mut all = Vec::new();
        loop {
            let mut proposed: Vec<String> = Vec::new();
            let mut fired_schedules = 0;
            let result = self
                .store
                .fire_due(&now_str, FIRE_BATCH, |due| {
                    let firing = match due {
                        Due::Key(key) => {
                            fired_schedules += 1;
                            prepared.as_mut().and_then(|p| p.take(key, now, &now_str))?
                        }
                        Due::Full(due) => self.firing(due, now, &mut context),
                    };
                    proposed.extend(firing.executions.iter().map(|e| e.id.clone()));
                    Some(firing)
                })
                .await;
            // Snapshots of slots another process fired first (or of a failed transaction).
            let created_ids: std::collections::HashSet<&str> =
                result.iter().flatten().map(|e| e.id.as_str()).collect();
            for id in proposed
                .iter()
                .filter(|id| !created_ids.contains(id.as_str()))
            {
                let _ = std::fs::remove_file(self.staged_input(id));
            }
            all.extend(result?);
            if fired_schedules < FIRE_BATCH {
                break;
            }
        }
        // Prepared but not used (paused, edited or fired elsewhere meanwhile).
        if let Some(unused) = prepared {
            self.discard_prepared(unused);
        }
        if !all.is_empty() {
            // The firing stands; an engine that cannot be reached gets them at the next dispatch.
            super::ignore_unreachable(self.dispatch().await)?;
        }
        Ok(all)
    }

    fn firing(&self, due: &DueSchedule, now: jiff::Timestamp, context: &mut FireContext) -> Firing {
        let s = &due.schedule;
        let key = (s.cron_schedule.clone(), s.time_zone.clone());
        let cron = context
            .crons
            .entry(key)
            .or_insert_with(|| CronSchedule::parse(&s.cron_schedule, &s.time_zone).ok());
        let (Some(cron), Some(next_run_time)) = (
            cron.as_ref(),
            s.next_run_time.as_deref().and_then(parse_instant),
        ) else {
            // Unreadable (a zone gone from the system's database): stop it firing.
            eprintln!(
                "notebook-executor scheduler: schedule {} cannot be planned ({} in {}); not fired",
                s.id, s.cron_schedule, s.time_zone
            );
            return Firing {
                executions: vec![],
                next_run_time: None,
            };
        };
        // Schedules due together mostly share their timing: plan each timing once.
        let plan_key = (
            s.cron_schedule.clone(),
            s.time_zone.clone(),
            next_run_time,
            s.missed_runs,
        );
        let fire = context
            .plans
            .entry(plan_key)
            .or_insert_with(|| plan(cron, next_run_time, now, s.missed_runs));
        if fire.skipped {
            eprintln!(
                "notebook-executor scheduler: schedule {} missed slots before {} ({})",
                s.id,
                instant_text(now),
                s.missed_runs.as_str()
            );
        }
        let (slots, next) = (fire.slots.clone(), fire.next_run_time);
        let executions = slots
            .iter()
            .map(|slot| self.scheduled_execution(s, *slot, context))
            .collect();
        Firing {
            executions,
            next_run_time: next.map(instant_text),
        }
    }

    /// The execution of one slot. The notebook is read as it is now (a schedule runs the
    /// current file); if that fails the execution is recorded FAILED, saying why.
    fn scheduled_execution(
        &self,
        schedule: &Schedule,
        slot: jiff::Timestamp,
        context: &mut FireContext,
    ) -> Execution {
        let mut spec = schedule.execution_template.clone();
        spec.schedule_id = Some(schedule.id.clone());
        spec.scheduled_time = Some(instant_text(slot));
        let dir_key = (spec.backend.clone(), spec.output_location.clone());
        let output = context
            .outputs
            .entry(dir_key)
            .or_insert_with(|| {
                // Checked when the schedule was saved; a local folder removed since is
                // made again (a bucket's state is the run's to find out).
                let folder = self
                    .backends
                    .get(&spec.backend)
                    .and_then(|b| self.output_folder(&spec, &b.capabilities()))
                    .unwrap_or_else(|_| self.default_output.clone());
                if let Location::Local(dir) = &folder {
                    let _ = std::fs::create_dir_all(dir);
                }
                folder
            })
            .clone();
        let mut execution = Service::new_execution(spec, &output);
        match Location::parse(&execution.spec.input_notebook) {
            // A notebook in Cloud Storage is read when its run starts (no network call in
            // the firing transaction).
            Ok(Location::Gcs { .. }) => {}
            Ok(Location::Local(input)) => {
                let staged = self.staged_input(&execution.id);
                if let Err(message) = context.snapshot(&input, &staged) {
                    execution.state = State::Failed;
                    execution.state_message = format!(
                        "the schedule could not read its notebook {}: {message}",
                        input.display()
                    );
                    execution.end_time = Some(execution.create_time.clone());
                }
            }
            Err(message) => {
                execution.state = State::Failed;
                execution.state_message = format!("the schedule's notebook: {message}");
                execution.end_time = Some(execution.create_time.clone());
            }
        }
        execution
    }
}

/// A schedule's own text fields, capped as a submission's are.
fn check_schedule_sizes(
    display_name: &Option<String>,
    cron: &Option<String>,
    zone: &Option<String>,
) -> Result<()> {
    for (field, value, max) in [
        ("display_name", display_name, super::MAX_NAME),
        ("cron_schedule", cron, 256),
        ("time_zone", zone, 256),
    ] {
        if value.as_ref().is_some_and(|v| v.chars().count() > max) {
            return Err(Error::invalid(field, format!("at most {max} characters")));
        }
    }
    Ok(())
}

/// The template with `changes` set over it; a value of the wrong type names its field.
fn merged(template: &ExecutionSpec, changes: Map<String, Value>) -> Result<ExecutionSpec> {
    let mut value = serde_json::to_value(template).expect("records serialize");
    let fields = value.as_object_mut().expect("a template is an object");
    let known: Vec<String> = fields.keys().cloned().collect();
    for (field, change) in changes {
        if !known.contains(&field) {
            return Err(Error::invalid(
                "execution_template",
                format!("unknown field {field:?}"),
            ));
        }
        fields.insert(field, change);
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e
            .path()
            .iter()
            .next()
            .map_or("execution_template".to_owned(), |s| s.to_string());
        Error::invalid(&field, e.inner().to_string())
    })
}

/// Executions built ahead of a slot, by schedule id (with the schedule's update time then).
pub struct PreparedFiring {
    pub slot: jiff::Timestamp,
    slot_text: String,
    firings: HashMap<String, (String, Firing)>,
}

impl PreparedFiring {
    /// The prepared firing of a due schedule, if it still holds: same slot, schedule
    /// unchanged, fired on time (else the missed-runs rule decides afresh).
    fn take(&mut self, key: &DueKey, now: jiff::Timestamp, now_text: &str) -> Option<Firing> {
        if key.next_run_time != self.slot_text || now.duration_since(self.slot) > ON_TIME_WITHIN {
            return None;
        }
        let (update_time, firing) = self.firings.remove(&key.id)?;
        let still_next = firing
            .next_run_time
            .as_deref()
            .is_none_or(|next| next > now_text);
        if update_time != key.update_time || !still_next {
            self.firings.insert(key.id.clone(), (update_time, firing));
            return None;
        }
        Some(firing)
    }
}

/// A schedule stores its notebook's real path (links resolved when it was made): if that
/// path now leads elsewhere (a link swapped in since, say out of the server's root), the
/// run is refused rather than run another file.
fn same_file_as_made(input: &std::path::Path) -> std::result::Result<(), String> {
    match std::fs::canonicalize(input) {
        Ok(real) if real == input => Ok(()),
        Ok(real) => Err(format!(
            "the path now leads to {} through a symbolic link made since the schedule was saved; \
             a schedule runs the file it was made with (save it again to run this one)",
            real.display()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// What one firing computes once for many slots.
#[derive(Default)]
struct FireContext {
    crons: HashMap<(String, String), Option<CronSchedule>>,
    plans: HashMap<(String, String, jiff::Timestamp, MissedRuns), Fire>,
    outputs: HashMap<(String, String), Location>,
    /// A notebook read once per firing: its first snapshot, or why it could not be read.
    snapshots: HashMap<PathBuf, std::result::Result<PathBuf, String>>,
}

impl FireContext {
    /// Snapshots are never written after they are made, so the slots of one firing that
    /// run the same notebook share one copy (hard links; a copy where links fail).
    fn snapshot(&mut self, input: &PathBuf, staged: &PathBuf) -> std::result::Result<(), String> {
        match self.snapshots.get(input) {
            Some(Ok(first)) => {
                if std::fs::hard_link(first, staged).is_ok() {
                    return Ok(());
                }
                std::fs::copy(first, staged)
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
            Some(Err(message)) => Err(message.clone()),
            None => {
                let result = same_file_as_made(input)
                    .and_then(|()| std::fs::copy(input, staged).map_err(|e| e.to_string()))
                    .map(|_| staged.clone());
                self.snapshots.insert(input.clone(), result.clone());
                result.map(drop)
            }
        }
    }
}
