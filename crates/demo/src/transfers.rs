//! The live-transfer attempts of calls the agent handed to a person (DESIGN §6), as the
//! transfer API would have stored them: one blind request made as the agent's leg ends (the
//! `transfer.initiated` event), to the business line's front desk and then its backup line.
//! Most reach someone at the front desk, some only on the backup, and a few reach no one and
//! end in the voicemail fallback, so the success rate a dashboard shows is not a constant.

use crate::at;
use crate::rng::{Rng, uuid_v7};
use callscope_model::{Fallback, FallbackAction, Object, Transfer, TransferKind, TransferStatus};

/// Share of requests the front desk answers.
const FIRST_TARGET_ANSWERS: f64 = 0.74;
/// Share of the rest the backup line answers.
const BACKUP_ANSWERS: f64 = 0.7;

/// The attempts of a transfer of call `call_id` requested at `requested_ms` to `front_desk`,
/// oldest first.
pub(crate) fn chain(
    call_id: &str,
    organization_id: &str,
    front_desk: &str,
    requested_ms: i64,
    rng: &mut Rng,
) -> Vec<Transfer> {
    let backup = format!("{}01", &front_desk[..front_desk.len().saturating_sub(2)]);
    let targets = vec![front_desk.to_owned(), backup];
    let answered_by = if rng.chance(FIRST_TARGET_ANSWERS) {
        Some(0)
    } else if rng.chance(BACKUP_ANSWERS) {
        Some(1)
    } else {
        None
    };
    let tried = answered_by.map_or(targets.len(), |at| at + 1);
    let chain_id = uuid_v7(requested_ms, rng);
    let mut clock = requested_ms;
    let mut attempts = Vec::with_capacity(tried);
    for attempt in 0..tried {
        let answered = answered_by == Some(attempt);
        let created = clock;
        // Ringing until someone picks up, or until the line gives up or is busy.
        clock += if answered {
            rng.between(4_000, 14_000)
        } else if rng.chance(0.5) {
            rng.between(800, 2_500)
        } else {
            rng.between(20_000, 30_000)
        } as i64;
        let last = attempt + 1 == tried;
        let failure_cause = (!answered).then(|| {
            if clock - created < 5_000 {
                "busy"
            } else {
                "no_answer"
            }
        });
        attempts.push(Transfer {
            id: if attempt == 0 {
                chain_id.clone()
            } else {
                uuid_v7(created, rng)
            },
            session_id: call_id.to_owned(),
            organization_id: organization_id.to_owned(),
            kind: TransferKind::Blind,
            status: if answered {
                TransferStatus::Completed
            } else {
                TransferStatus::Failed
            },
            transfer_to: targets[attempt].clone(),
            from_room_name: None,
            consultation_room_name: None,
            caller_participant_identity: None,
            recipient_participant_identity: None,
            outbound_trunk_id: None,
            screening_prompt: None,
            summary: None,
            failure_cause: failure_cause.map(str::to_owned),
            metadata: None,
            created_at: at(created),
            updated_at: at(clock),
            completed_at: Some(at(clock)),
            chain_id: chain_id.clone(),
            attempt: attempt as u32,
            targets: targets.clone(),
            fallback: Some(Fallback {
                action: FallbackAction::Voicemail,
                details: Object::new(),
            }),
            fallback_applied_at: (last && !answered).then(|| at(clock)),
        });
    }
    attempts
}
