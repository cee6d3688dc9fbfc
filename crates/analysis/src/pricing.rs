//! Prices usage into integer micro-USD (no floats in money).
//!
//! A price is a decimal USD amount for `per` units of one unit of one component, optionally
//! for one provider and one model; the most specific price that applies wins. Minutes are
//! priced as 60 seconds. Usage is summed per line (component, provider, model, unit) before
//! it is priced, so many small reports round once, not once each.

use crate::AnalysisError;
use callscope_model::{Cost, CostComponent, CostItem, MicroUsd, UsageRecord, UsageUnit};
use serde::{Deserialize, Serialize};

/// One price, as written in the config's `[[pricing.prices]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceEntry {
    pub component: CostComponent,
    /// Any provider when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Any model when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub unit: UsageUnit,
    /// USD for `per` units, as a decimal string exact to 12 places (`"0.0043"`).
    pub usd: String,
    #[serde(default = "one")]
    pub per: u64,
}

fn one() -> u64 {
    1
}

/// The `[pricing]` section of the config: prices that replace or add to the defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingConfig {
    /// How many credits (seed 003's `callCost`) one USD buys; 100 when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits_per_usd: Option<u32>,
    #[serde(default)]
    pub prices: Vec<PriceEntry>,
}

/// The list prices shipped with callscope, so cost works before anyone configures it.
/// Rough public list prices; every deployment should put its own contract prices in the
/// config.
/// `(component, provider, model, unit, usd, per)`.
type DefaultPrice = (
    CostComponent,
    Option<&'static str>,
    Option<&'static str>,
    UsageUnit,
    &'static str,
    u64,
);

const DEFAULT_PRICES: &[DefaultPrice] = &[
    (
        CostComponent::Stt,
        None,
        None,
        UsageUnit::Minutes,
        "0.0043",
        1,
    ),
    (
        CostComponent::Stt,
        Some("openai"),
        None,
        UsageUnit::Minutes,
        "0.006",
        1,
    ),
    (
        CostComponent::Llm,
        None,
        None,
        UsageUnit::Tokens,
        "0.60",
        1_000_000,
    ),
    (
        CostComponent::Llm,
        None,
        None,
        UsageUnit::InputTokens,
        "0.15",
        1_000_000,
    ),
    (
        CostComponent::Llm,
        None,
        None,
        UsageUnit::OutputTokens,
        "0.60",
        1_000_000,
    ),
    (
        CostComponent::Llm,
        Some("openai"),
        Some("gpt-4o"),
        UsageUnit::InputTokens,
        "2.50",
        1_000_000,
    ),
    (
        CostComponent::Llm,
        Some("openai"),
        Some("gpt-4o"),
        UsageUnit::OutputTokens,
        "10.00",
        1_000_000,
    ),
    (
        CostComponent::Tts,
        None,
        None,
        UsageUnit::Characters,
        "15.00",
        1_000_000,
    ),
    (
        CostComponent::Tts,
        Some("elevenlabs"),
        None,
        UsageUnit::Characters,
        "0.30",
        1_000,
    ),
    (
        CostComponent::Telephony,
        None,
        None,
        UsageUnit::Minutes,
        "0.0085",
        1,
    ),
    (
        CostComponent::Platform,
        None,
        None,
        UsageUnit::Minutes,
        "0.01",
        1,
    ),
];

const PICO_PER_MICRO: u128 = 1_000_000;
const MILLI: u128 = 1_000;

/// A price in exact integers: `pico_usd` for `per_milli` thousandths of the base unit.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Price {
    component: CostComponent,
    provider: Option<String>,
    model: Option<String>,
    /// The unit usage is counted in (minutes become seconds).
    unit: UsageUnit,
    pico_usd: u128,
    per_milli: u128,
}

impl Price {
    fn from_entry(entry: &PriceEntry) -> Result<Self, AnalysisError> {
        if entry.per == 0 {
            return Err(AnalysisError::BadPrice(format!(
                "{} in {}: `per` must be at least 1",
                entry.component, entry.unit
            )));
        }
        let (unit, per) = base_units(entry.unit, u128::from(entry.per));
        Ok(Self {
            component: entry.component,
            provider: entry.provider.clone(),
            model: entry.model.clone(),
            unit,
            pico_usd: pico_usd(&entry.usd).ok_or_else(|| {
                AnalysisError::BadPrice(format!(
                    "{} in {}: `usd` must be a decimal like \"0.0043\" with at most 12 places, \
                     got `{}`",
                    entry.component, entry.unit, entry.usd
                ))
            })?,
            per_milli: per * MILLI,
        })
    }

    fn same_key(&self, other: &Self) -> bool {
        (self.component, &self.provider, &self.model, self.unit)
            == (other.component, &other.provider, &other.model, other.unit)
    }

    /// How specific the price is: a model beats a provider, both beat neither.
    fn specificity(&self) -> u8 {
        u8::from(self.provider.is_some()) + 2 * u8::from(self.model.is_some())
    }

    /// Micro-USD for `milli_units` thousandths of the unit, rounded half up.
    fn micro_usd(&self, milli_units: u128) -> u128 {
        let denominator = self.per_milli * PICO_PER_MICRO;
        // Saturating: a bill past u128 pico-USD is not a bill, but it must not panic.
        self.pico_usd
            .saturating_mul(milli_units)
            .saturating_add(denominator / 2)
            / denominator
    }
}

/// The unit usage is counted in, and how many of it `amount` units are.
fn base_units(unit: UsageUnit, amount: u128) -> (UsageUnit, u128) {
    match unit {
        UsageUnit::Minutes => (UsageUnit::Seconds, amount.saturating_mul(60)),
        other => (other, amount),
    }
}

/// A decimal USD string as pico-USD, exactly.
fn pico_usd(text: &str) -> Option<u128> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || fraction.len() > 12 || !digits(whole) || !digits(fraction) {
        return None;
    }
    let whole: u128 = whole.parse().ok()?;
    let fraction: u128 = format!("{fraction:0<12}").parse().ok()?;
    whole.checked_mul(1_000_000_000_000)?.checked_add(fraction)
}

/// The prices in force: the defaults, with the config's entries replacing or adding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceTable {
    prices: Vec<Price>,
    credits_per_usd: u32,
}

impl Default for PriceTable {
    fn default() -> Self {
        // The shipped entries are valid; a test proves it.
        Self::new(&PricingConfig::default()).unwrap_or(Self {
            prices: Vec::new(),
            credits_per_usd: 100,
        })
    }
}

impl PriceTable {
    /// The defaults with `config` applied.
    pub fn new(config: &PricingConfig) -> Result<Self, AnalysisError> {
        let defaults =
            DEFAULT_PRICES
                .iter()
                .map(|&(component, provider, model, unit, usd, per)| PriceEntry {
                    component,
                    provider: provider.map(str::to_owned),
                    model: model.map(str::to_owned),
                    unit,
                    usd: usd.to_owned(),
                    per,
                });
        let mut prices: Vec<Price> = Vec::new();
        for entry in defaults.chain(config.prices.iter().cloned()) {
            let price = Price::from_entry(&entry)?;
            prices.retain(|known| !known.same_key(&price));
            prices.push(price);
        }
        Ok(Self {
            prices,
            credits_per_usd: config.credits_per_usd.unwrap_or(100),
        })
    }

    fn find(&self, line: &Line) -> Option<&Price> {
        let matches = |wanted: &Option<String>, given: &Option<String>| {
            wanted.is_none()
                || wanted.as_deref().map(str::to_lowercase)
                    == given.as_deref().map(str::to_lowercase)
        };
        self.prices
            .iter()
            .filter(|price| {
                price.component == line.component
                    && price.unit == line.unit
                    && matches(&price.provider, &line.provider)
                    && matches(&price.model, &line.model)
            })
            .max_by_key(|price| price.specificity())
    }

    /// The cost of all of `usage`: one breakdown line per component, provider, model and
    /// unit, in order of first report; the total is their sum.
    pub fn cost(&self, usage: &[UsageRecord]) -> Result<Cost, AnalysisError> {
        let mut lines: Vec<Line> = Vec::new();
        for (at, record) in usage.iter().enumerate() {
            // Thousandths of a unit: usage is validated to at most 1e12 units.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let milli = (record.units.max(0.0) * 1_000.0).round() as u128;
            let (unit, milli_units) = base_units(record.unit, milli);
            let line = Line {
                first: at,
                component: record.component,
                provider: record.provider.clone(),
                model: record.model.clone(),
                unit,
                milli_units,
            };
            match lines.iter_mut().find(|known| known.same_key(&line)) {
                Some(known) => {
                    known.milli_units = known.milli_units.saturating_add(line.milli_units);
                }
                None => lines.push(line),
            }
        }
        let mut breakdown = Vec::with_capacity(lines.len());
        let mut total: u128 = 0;
        for line in &lines {
            let price = self.find(line).ok_or_else(|| self.no_price(line))?;
            let micro = price.micro_usd(line.milli_units);
            total = total.saturating_add(micro);
            #[allow(clippy::cast_precision_loss)] // a display figure of units
            let units = line.milli_units as f64 / 1_000.0;
            breakdown.push(CostItem {
                component: line.component,
                provider: line.provider.clone(),
                model: line.model.clone(),
                units: Some(units),
                unit: Some(line.unit.as_str().to_owned()),
                micro_usd: MicroUsd(u64::try_from(micro).unwrap_or(u64::MAX)),
            });
        }
        let total = u64::try_from(total).unwrap_or(u64::MAX);
        Ok(Cost {
            total_micro_usd: Some(MicroUsd(total)),
            credits: Some(self.credits(total)),
            breakdown,
        })
    }

    /// Credits for `micro_usd`, to four places (a display figure, not money).
    #[allow(clippy::cast_precision_loss)]
    fn credits(&self, micro_usd: u64) -> f64 {
        let credits = micro_usd as f64 * f64::from(self.credits_per_usd) / 1e6;
        (credits * 10_000.0).round() / 10_000.0
    }

    fn no_price(&self, line: &Line) -> AnalysisError {
        let mut priced: Vec<&str> = self
            .prices
            .iter()
            .filter(|price| price.component == line.component)
            .map(|price| price.unit.as_str())
            .collect();
        priced.sort_unstable();
        priced.dedup();
        let priced = if priced.is_empty() {
            "nothing".to_owned()
        } else {
            priced.join(", ")
        };
        AnalysisError::NoPrice {
            record: line.first,
            message: format!(
                "no price for {} usage in {}; the price table prices {} in: {priced}",
                line.component, line.unit, line.component
            ),
        }
    }
}

/// Usage summed for one breakdown line.
struct Line {
    /// Index of the first record of the line, for error messages.
    first: usize,
    component: CostComponent,
    provider: Option<String>,
    model: Option<String>,
    unit: UsageUnit,
    milli_units: u128,
}

impl Line {
    fn same_key(&self, other: &Self) -> bool {
        (self.component, &self.provider, &self.model, self.unit)
            == (other.component, &other.provider, &other.model, other.unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn usage(records: serde_json::Value) -> Vec<UsageRecord> {
        serde_json::from_value(records).unwrap_or_else(|e| panic!("{e}"))
    }

    fn config(value: serde_json::Value) -> PricingConfig {
        serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_shipped_prices_are_valid() {
        assert!(PriceTable::new(&PricingConfig::default()).is_ok());
        assert_eq!(
            PriceTable::default().prices.len(),
            DEFAULT_PRICES.len(),
            "no default replaces another"
        );
    }

    #[test]
    fn usage_is_priced_exactly_in_micro_usd() {
        let table = PriceTable::new(&config(json!({
            "credits_per_usd": 1000,
            "prices": [
                {"component": "llm", "provider": "acme", "model": "m1", "unit": "input_tokens", "usd": "0.15", "per": 1000000},
                {"component": "stt", "unit": "minutes", "usd": "0.0043"},
                {"component": "tts", "provider": "acme", "unit": "characters", "usd": "0.000015"}
            ]
        })))
        .unwrap_or_else(|e| panic!("{e}"));
        let cost = table
            .cost(&usage(json!([
                {"component": "llm", "provider": "acme", "model": "m1", "units": 1234, "unit": "input_tokens"},
                {"component": "llm", "provider": "acme", "model": "m1", "units": 766, "unit": "input_tokens"},
                {"component": "stt", "provider": "deepgram", "units": 90, "unit": "seconds"},
                {"component": "stt", "provider": "deepgram", "units": 0.5, "unit": "minutes"},
                {"component": "tts", "provider": "ACME", "units": 1001, "unit": "characters"}
            ])))
            .unwrap_or_else(|e| panic!("{e}"));
        // llm: 2,000 tokens at 0.15 USD per million = 300 micro-USD.
        // stt: 90 s + 30 s = 2 min at 0.0043 USD = 8,600 micro-USD.
        // tts: 1,001 characters at 0.000015 USD = 15,015 micro-USD.
        let lines: Vec<(CostComponent, Option<f64>, Option<&str>, u64)> = cost
            .breakdown
            .iter()
            .map(|item| {
                (
                    item.component,
                    item.units,
                    item.unit.as_deref(),
                    item.micro_usd.0,
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                (CostComponent::Llm, Some(2000.0), Some("input_tokens"), 300),
                (CostComponent::Stt, Some(120.0), Some("seconds"), 8_600),
                (CostComponent::Tts, Some(1001.0), Some("characters"), 15_015),
            ]
        );
        assert_eq!(cost.total_micro_usd, Some(MicroUsd(23_915)));
        // 0.023915 USD at 1,000 credits per USD.
        assert_eq!(cost.credits, Some(23.915));
    }

    #[test]
    fn small_reports_round_once_per_line() {
        let table = PriceTable::default();
        // 3 x 1 output token at 0.60 USD per million: 0.6 micro-USD each, 1.8 together.
        let one_token = json!({"component": "llm", "units": 1, "unit": "output_tokens"});
        let cost = table
            .cost(&usage(json!([one_token, one_token, one_token])))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cost.total_micro_usd, Some(MicroUsd(2)));
    }

    #[test]
    fn the_most_specific_price_wins() {
        let table = PriceTable::default();
        let price = |provider: &str, model: &str| {
            table
                .cost(&usage(
                    json!([{"component": "llm", "provider": provider, "model": model,
                                     "units": 1000000, "unit": "input_tokens"}]),
                ))
                .map(|cost| cost.total_micro_usd)
        };
        assert_eq!(price("openai", "gpt-4o"), Ok(Some(MicroUsd(2_500_000))));
        assert_eq!(price("openai", "gpt-4o-mini"), Ok(Some(MicroUsd(150_000))));
    }

    #[test]
    fn usage_without_a_price_is_refused_with_what_is_priced() {
        let table = PriceTable::default();
        let Err(AnalysisError::NoPrice { record, message }) = table.cost(&usage(json!([
            {"component": "tts", "units": 3, "unit": "characters"},
            {"component": "tts", "units": 3, "unit": "tokens"}
        ]))) else {
            panic!("priced tts tokens")
        };
        assert_eq!(record, 1);
        assert!(
            message.starts_with("no price for tts usage in tokens"),
            "{message}"
        );
        assert!(message.ends_with("in: characters"), "{message}");
    }

    #[test]
    fn malformed_prices_are_refused() {
        for usd in ["", "1,5", "-1", "0.0000000000001", "abc"] {
            let bad =
                config(json!({"prices": [{"component": "llm", "unit": "tokens", "usd": usd}]}));
            assert!(
                matches!(PriceTable::new(&bad), Err(AnalysisError::BadPrice(_))),
                "`{usd}` was accepted"
            );
        }
        let zero = config(
            json!({"prices": [{"component": "llm", "unit": "tokens", "usd": "1", "per": 0}]}),
        );
        assert!(PriceTable::new(&zero).is_err());
    }
}
