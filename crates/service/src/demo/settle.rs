//! Cardholders for settlement load: many usable cards, so that a benchmark spreads over many
//! personal accounts as real traffic does.

use serde::Serialize;
use sscard_store::StoreError;

use crate::App;
use crate::error::ServiceError;

/// A holder of a usable card who can settle at a hospital.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SettleCardholder {
    pub card_no: String,
    /// The card identifier (识别码) sent with the card number.
    pub card_sn: String,
    pub id_number: String,
    /// The PIN (still the region's initial one).
    pub pin: String,
    pub region_code: String,
}

/// Up to `limit` active regular cards whose holder is alive, insured for medical care, has a
/// personal account and still has the initial PIN (unlocked), spread over the population.
pub(super) fn pick(app: &App, limit: i64) -> Result<Vec<SettleCardholder>, ServiceError> {
    let today = app.today();
    app.store()
        .read(|tx| {
            let total = tx.query_i64("SELECT COUNT(*) FROM cards", &[])?;
            let step = (total / (limit * 4)).max(1);
            let rows = tx.query(
                "SELECT c.card_no, c.card_id, p.doc_number, c.region_code
               FROM cards c JOIN persons p ON p.id = c.person_id
              WHERE c.id % $1 = 0 AND c.status = 'active' AND c.kind = 'regular'
                AND c.pin_changed = $2 AND c.pin_locked = $2 AND p.life_status = 'normal'
                AND c.card_no IS NOT NULL AND c.card_id IS NOT NULL
                AND EXISTS (SELECT 1 FROM enrolments e WHERE e.person_id = p.id
                              AND e.insurance = 'medical' AND e.status IN ('active', 'retired'))
                AND EXISTS (SELECT 1 FROM accounts a WHERE a.person_id = p.id
                              AND a.kind = 'medical_personal')
              ORDER BY c.id LIMIT $3",
                sscard_store::params![step, false, limit],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let region = r.text(3)?;
                let policy = crate::cards::policy_of(tx, &region, today)
                    .map_err(|e| StoreError::Db(e.message_en))?;
                out.push(SettleCardholder {
                    card_no: r.text(0)?,
                    card_sn: r.text(1)?,
                    id_number: r.text(2)?,
                    pin: policy.initial_pin.clone(),
                    region_code: region,
                });
            }
            Ok::<_, StoreError>(out)
        })
        .map_err(ServiceError::from)
}
