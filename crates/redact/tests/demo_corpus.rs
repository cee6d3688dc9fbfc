//! Redaction measured on the demo corpus. Its conversations say order numbers, booking
//! references, lead ids, times, prices, dates and addresses, and some say a phone number,
//! always a fictional one: `NNN-555-NNNN` in speech, E.164 transfer targets in flow
//! payloads. With those numbers taken out (by this file's own
//! pattern, not the redactor's), any mask left is a false positive; the rate is printed for
//! the issue's note and bounded, and every planted number must be masked.

#![allow(clippy::unwrap_used)]

use callscope_demo::{DemoConfig, generate};
use callscope_model::Timestamp;
use callscope_redact::{PiiKind, RedactionSettings, Redactor, redact_call};

#[test]
fn the_demo_corpus_is_almost_never_masked() {
    let redactor = Redactor::new(&RedactionSettings {
        kinds: vec![PiiKind::Phone, PiiKind::Email, PiiKind::Card],
        ..RedactionSettings::default()
    })
    .unwrap();
    let config = DemoConfig {
        seed: 7,
        organization_id: "org_demo".into(),
        calls: 5_000,
        anchor: Timestamp::from_millis(1_764_800_000_000).unwrap(),
        days: 30,
    };
    let planted =
        regex::Regex::new(r"\b[2-9][0-9]{2}-555-[0-9]{4}\b|\+[1-9][0-9]{7,14}\b").unwrap();
    let (mut texts, mut phones, mut masked_phones) = (0_u64, 0_u64, 0_u64);
    let (mut false_texts, mut false_masks) = (0_u64, 0_u64);
    let mut examples = Vec::new();
    for labelled in generate(&config) {
        let mut call = labelled.call;
        // Every free-text place, each a text of its own.
        call.from_number = None;
        call.to_number = None;
        let mut said: Vec<String> = call.transcript.iter().map(|e| e.text.clone()).collect();
        if let Some(metadata) = &call.metadata {
            said.push(serde_json::to_string(metadata).unwrap());
        }
        if let Some(flow) = &call.flow {
            said.push(serde_json::to_string(flow).unwrap());
        }
        for text in said {
            texts += 1;
            let numbers = planted.find_iter(&text).count() as u64;
            phones += numbers;
            let masked = redactor.redact(&text);
            masked_phones += masked.matches("[PHONE]").count().min(numbers as usize) as u64;
            let rest = planted.replace_all(&text, "a number");
            let left = redactor.redact(&rest);
            if left != rest {
                false_texts += 1;
                false_masks += left.matches('[').count() as u64 - rest.matches('[').count() as u64;
                if examples.len() < 10 {
                    let at = rest
                        .bytes()
                        .zip(left.bytes())
                        .take_while(|(a, b)| a == b)
                        .count();
                    let window = |text: &str| {
                        text.get(at.saturating_sub(60)..(at + 60).min(text.len()))
                            .unwrap_or(text)
                            .to_owned()
                    };
                    examples.push(format!("{:?} -> {:?}", window(&rest), window(&left)));
                }
            }
        }
        // And the whole call through the call-level pass, which must not fail on any shape.
        redact_call(&mut call, &redactor);
    }
    let rate = false_texts as f64 / texts as f64;
    println!(
        "demo corpus: {false_masks} false masks in {false_texts} of {texts} texts ({:.4} % of texts); \
         {masked_phones} of {phones} planted phone numbers masked",
        rate * 100.0
    );
    for example in &examples {
        println!("  {example}");
    }
    assert!(phones > 0, "the corpus says some numbers");
    assert_eq!(masked_phones, phones, "every planted number is masked");
    assert!(rate < 0.001, "false-positive rate {rate}: {examples:#?}");
}
