//! Live transfers (DESIGN §6, seed 002): a request to hand the caller to a human, routed
//! through an ordered list of targets, one attempt per target, and the state machine every
//! attempt follows.
//!
//! Each attempt is one [`Transfer`]; the attempts of one request form a chain sharing
//! `chain_id` (the first attempt's id). Only the runtime holding the media knows how an
//! attempt goes; it reports each step and [`apply_report`] decides what follows: the next
//! target when one fails, the fallback when none is left.

use crate::ValidationError;
use crate::call::Object;
use crate::enums::{FallbackAction, TransferKind, TransferStatus};
use crate::id::{new_id, validate_id};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Most targets one request may list.
pub const MAX_TARGETS: usize = 10;

/// What to do when every target failed: the action, plus whatever the runtime needs to carry
/// it out (a callback time, a voicemail box), kept as given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Fallback {
    pub action: FallbackAction,
    #[serde(flatten)]
    pub details: Object,
}

/// One transfer attempt, as stored and as seed 002 renders it (plus the routing fields).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    pub id: String,
    pub session_id: String,
    pub organization_id: String,
    pub kind: TransferKind,
    pub status: TransferStatus,
    pub transfer_to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_room_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consultation_room_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_participant_identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_participant_identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound_trunk_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screening_prompt: Option<String>,
    /// What the agent hands the human (warm transfers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_cause: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Object>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    /// The id of the chain's first attempt (its own id for the first).
    pub chain_id: String,
    /// Position of this attempt in the chain, from 0; it dials `targets[attempt]`.
    pub attempt: u32,
    /// Every target of the request, in order.
    pub targets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    /// When the fallback was applied: set on the last attempt once it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_applied_at: Option<Timestamp>,
}

/// What a call's transfers came to, kept on the call (`Call::transfer`) so that search and
/// aggregations see it: the latest request's chain, as its last attempt stands. The store
/// derives it from the attempts whenever one changes; a client cannot write it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferSummary {
    /// The chain's first attempt (`Transfer::chain_id`).
    pub chain_id: String,
    /// The last attempt's status: `completed` when a target took the call, `failed` when
    /// every target failed, `canceled`, or the state of the attempt still under way.
    pub status: TransferStatus,
    /// Attempts made in the chain, the last one included.
    pub attempts: u32,
    /// The target that took the call, once one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_to: Option<String>,
}

impl TransferSummary {
    /// The summary of a call's attempts (oldest first); `None` when it has none.
    pub fn of(attempts: &[Transfer]) -> Option<Self> {
        let last = attempts.last()?;
        let in_chain = attempts.iter().filter(|t| t.chain_id == last.chain_id);
        Some(Self {
            chain_id: last.chain_id.clone(),
            status: last.status,
            attempts: u32::try_from(in_chain.count()).unwrap_or(u32::MAX),
            connected_to: (last.status == TransferStatus::Completed)
                .then(|| last.transfer_to.clone()),
        })
    }
}

/// A transfer request as a client writes it (`POST /v1/calls/{id}/transfers`).
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferDraft {
    #[serde(default)]
    pub id: Option<String>,
    pub kind: TransferKind,
    /// One target; or `targets`, tried in order.
    #[serde(default)]
    pub transfer_to: Option<String>,
    #[serde(default)]
    pub targets: Option<Vec<String>>,
    #[serde(default)]
    pub from_room_name: Option<String>,
    #[serde(default)]
    pub consultation_room_name: Option<String>,
    #[serde(default)]
    pub caller_participant_identity: Option<String>,
    #[serde(default)]
    pub recipient_participant_identity: Option<String>,
    #[serde(default)]
    pub outbound_trunk_id: Option<String>,
    #[serde(default)]
    pub screening_prompt: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub metadata: Option<Object>,
    #[serde(default)]
    pub fallback: Option<Fallback>,
}

impl TransferDraft {
    /// Validates the request and makes its first attempt.
    pub fn into_transfer(
        self,
        organization_id: &str,
        session_id: &str,
        now: Timestamp,
    ) -> Result<Transfer, ValidationError> {
        let targets = match (self.transfer_to, self.targets) {
            (Some(_), Some(_)) => {
                return Err(ValidationError::new(
                    "targets",
                    "give either `transfer_to` or `targets`, not both",
                ));
            }
            (None, None) => {
                return Err(ValidationError::new(
                    "transfer_to",
                    "is required (or `targets`, an ordered list of numbers or SIP URIs)",
                ));
            }
            (Some(one), None) => vec![one],
            (None, Some(list)) => list,
        };
        if targets.is_empty() || targets.len() > MAX_TARGETS {
            return Err(ValidationError::new(
                "targets",
                format!("lists {} targets; give 1 to {MAX_TARGETS}", targets.len()),
            ));
        }
        if let Some(position) = targets.iter().position(|t| t.trim().is_empty()) {
            return Err(ValidationError::new(
                format!("targets[{position}]"),
                "must not be empty",
            ));
        }
        let id = match self.id {
            Some(id) => {
                validate_id("id", &id)?;
                id
            }
            None => new_id(),
        };
        Ok(Transfer {
            session_id: session_id.to_owned(),
            organization_id: organization_id.to_owned(),
            kind: self.kind,
            status: TransferStatus::Requested,
            transfer_to: targets[0].clone(),
            from_room_name: self.from_room_name,
            consultation_room_name: self.consultation_room_name,
            caller_participant_identity: self.caller_participant_identity,
            recipient_participant_identity: self.recipient_participant_identity,
            outbound_trunk_id: self.outbound_trunk_id,
            screening_prompt: self.screening_prompt,
            summary: self.summary,
            failure_cause: None,
            metadata: self.metadata,
            created_at: now,
            updated_at: now,
            completed_at: None,
            chain_id: id.clone(),
            id,
            attempt: 0,
            targets,
            fallback: self.fallback,
            fallback_applied_at: None,
        })
    }
}

/// A step the runtime reports for one attempt (`POST …/transfers/{tid}/status`, and the
/// cancel and complete shortcuts).
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferReport {
    pub status: TransferStatus,
    #[serde(default)]
    pub failure_cause: Option<String>,
    #[serde(default)]
    pub recipient_participant_identity: Option<String>,
    #[serde(default)]
    pub consultation_room_name: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub metadata: Option<Object>,
}

/// A step the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "transfer `{id}` is {from}; a {kind} transfer cannot move to {to} (allowed next: {allowed})"
)]
pub struct IllegalTransition {
    pub id: String,
    pub kind: TransferKind,
    pub from: TransferStatus,
    pub to: TransferStatus,
    pub allowed: String,
}

/// The statuses an attempt of `kind` may move to from `from`: forward along
/// requested → dialing → ringing → (consulting, warm only) → completed, or out to failed or
/// canceled from any live status.
pub fn next_statuses(kind: TransferKind, from: TransferStatus) -> Vec<TransferStatus> {
    use TransferStatus::{Canceled, Completed, Consulting, Dialing, Failed, Requested, Ringing};
    let forward: &[TransferStatus] = match (from, kind) {
        (Requested, _) => &[Dialing],
        (Dialing, _) => &[Ringing],
        (Ringing, TransferKind::Blind) => &[Completed],
        (Ringing, TransferKind::Warm) => &[Consulting],
        (Consulting, _) => &[Completed],
        (Completed | Failed | Canceled, _) => return Vec::new(),
    };
    forward.iter().copied().chain([Failed, Canceled]).collect()
}

/// What a report did to a chain.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainStep {
    /// The reported attempt after the report.
    pub transfer: Transfer,
    /// The attempt created for the next target, when this one failed and one is left.
    pub next: Option<Transfer>,
    /// The fallback, when this attempt failed and it was the last.
    pub fallback_applied: Option<Fallback>,
    /// Whether anything changed (a repeated report of the current status changes nothing).
    pub changed: bool,
}

/// Applies `report` to `transfer`, one attempt of its chain. Reporting the status an attempt
/// already has is accepted and changes nothing, so a runtime may retry a report; any other
/// step off the state machine is an [`IllegalTransition`].
pub fn apply_report(
    mut transfer: Transfer,
    report: TransferReport,
    now: Timestamp,
) -> Result<ChainStep, IllegalTransition> {
    if report.status == transfer.status {
        return Ok(ChainStep {
            transfer,
            next: None,
            fallback_applied: None,
            changed: false,
        });
    }
    let allowed = next_statuses(transfer.kind, transfer.status);
    if !allowed.contains(&report.status) {
        let allowed = if allowed.is_empty() {
            "none, the attempt is over".to_owned()
        } else {
            allowed
                .iter()
                .map(TransferStatus::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(IllegalTransition {
            id: transfer.id,
            kind: transfer.kind,
            from: transfer.status,
            to: report.status,
            allowed,
        });
    }
    transfer.status = report.status;
    transfer.updated_at = now;
    if report.failure_cause.is_some() {
        transfer.failure_cause = report.failure_cause;
    }
    if report.recipient_participant_identity.is_some() {
        transfer.recipient_participant_identity = report.recipient_participant_identity;
    }
    if report.consultation_room_name.is_some() {
        transfer.consultation_room_name = report.consultation_room_name;
    }
    if report.summary.is_some() {
        transfer.summary = report.summary;
    }
    if report.metadata.is_some() {
        transfer.metadata = report.metadata;
    }
    if transfer.status.is_terminal() {
        transfer.completed_at = Some(now);
    }
    let mut next = None;
    let mut fallback_applied = None;
    if transfer.status == TransferStatus::Failed {
        let following = transfer.attempt as usize + 1;
        match transfer.targets.get(following) {
            Some(target) => next = Some(next_attempt(&transfer, target, now)),
            None => {
                if transfer.fallback.is_some() {
                    transfer.fallback_applied_at = Some(now);
                }
                fallback_applied.clone_from(&transfer.fallback);
            }
        }
    }
    Ok(ChainStep {
        transfer,
        next,
        fallback_applied,
        changed: true,
    })
}

/// The attempt after `failed`, dialing `target`.
fn next_attempt(failed: &Transfer, target: &str, now: Timestamp) -> Transfer {
    Transfer {
        id: new_id(),
        status: TransferStatus::Requested,
        transfer_to: target.to_owned(),
        recipient_participant_identity: None,
        failure_cause: None,
        created_at: now,
        updated_at: now,
        completed_at: None,
        attempt: failed.attempt + 1,
        fallback_applied_at: None,
        ..failed.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TransferStatus::*;

    fn draft(kind: &str, targets: &[&str]) -> TransferDraft {
        serde_json::from_value(serde_json::json!({
            "kind": kind,
            "targets": targets,
            "fallback": {"action": "scheduled_callback", "after_minutes": 30},
        }))
        .expect("draft")
    }

    fn report(status: TransferStatus) -> TransferReport {
        TransferReport {
            status,
            failure_cause: (status == Failed).then(|| "busy".to_owned()),
            recipient_participant_identity: None,
            consultation_room_name: None,
            summary: None,
            metadata: None,
        }
    }

    fn first(kind: &str, targets: &[&str]) -> Transfer {
        draft(kind, targets)
            .into_transfer("org", "call", Timestamp::now())
            .expect("valid")
    }

    #[test]
    fn a_blind_attempt_walks_forward_to_completed() {
        let mut transfer = first("blind", &["+1"]);
        for status in [Dialing, Ringing, Completed] {
            let step = apply_report(transfer, report(status), Timestamp::now()).expect("legal");
            assert!(step.changed && step.next.is_none());
            transfer = step.transfer;
        }
        assert!(transfer.completed_at.is_some());
    }

    #[test]
    fn only_warm_transfers_consult() {
        let ringing = |kind| {
            let mut t = first(kind, &["+1"]);
            t.status = Ringing;
            t
        };
        let error = apply_report(ringing("blind"), report(Consulting), Timestamp::now())
            .expect_err("blind cannot consult");
        assert_eq!(error.allowed, "completed, failed, canceled");
        let error = apply_report(ringing("warm"), report(Completed), Timestamp::now())
            .expect_err("warm must consult first");
        assert_eq!(error.allowed, "consulting, failed, canceled");
        assert!(apply_report(ringing("warm"), report(Consulting), Timestamp::now()).is_ok());
    }

    #[test]
    fn skipping_or_reopening_is_illegal_but_repeating_is_harmless() {
        let transfer = first("blind", &["+1"]);
        assert!(apply_report(transfer.clone(), report(Ringing), Timestamp::now()).is_err());
        let repeated =
            apply_report(transfer.clone(), report(Requested), Timestamp::now()).expect("repeat");
        assert!(!repeated.changed);
        assert_eq!(repeated.transfer, transfer);
        let mut done = transfer;
        done.status = Completed;
        let error = apply_report(done, report(Failed), Timestamp::now()).expect_err("over");
        assert_eq!(error.allowed, "none, the attempt is over");
    }

    #[test]
    fn a_failure_moves_to_the_next_target_then_to_the_fallback() {
        let transfer = first("blind", &["+1", "+2"]);
        let step = apply_report(transfer, report(Failed), Timestamp::now()).expect("legal");
        let next = step.next.expect("a second attempt");
        assert_eq!(
            (next.attempt, next.transfer_to.as_str(), next.status),
            (1, "+2", Requested)
        );
        assert_eq!(next.chain_id, step.transfer.id);
        assert_ne!(next.id, step.transfer.id);
        assert!(step.fallback_applied.is_none());
        let last = apply_report(next, report(Failed), Timestamp::now()).expect("legal");
        assert!(last.next.is_none());
        let fallback = last.fallback_applied.expect("fallback applies");
        assert_eq!(fallback.action, FallbackAction::ScheduledCallback);
        assert_eq!(fallback.details["after_minutes"], 30);
        assert!(last.transfer.fallback_applied_at.is_some());
    }

    #[test]
    fn drafts_need_exactly_one_way_to_name_targets() {
        let both: TransferDraft = serde_json::from_value(serde_json::json!({
            "kind": "blind", "transfer_to": "+1", "targets": ["+2"]
        }))
        .expect("parses");
        let error = both
            .into_transfer("o", "c", Timestamp::now())
            .expect_err("both");
        assert_eq!(error.field, "targets");
        let none: TransferDraft =
            serde_json::from_value(serde_json::json!({"kind": "warm"})).expect("parses");
        assert_eq!(
            none.into_transfer("o", "c", Timestamp::now())
                .expect_err("none")
                .field,
            "transfer_to"
        );
        let empty = draft("blind", &["+1", " "]);
        assert_eq!(
            empty
                .into_transfer("o", "c", Timestamp::now())
                .expect_err("blank")
                .field,
            "targets[1]"
        );
    }
}
