//! The caller's sentiment from their own words, scored with the VADER lexicon and rules
//! (`vader-sentimental`, a maintained port of Hutto & Gilbert's VADER).
//!
//! Only the caller (role `user`) counts: the agent is scripted to be pleasant, so its words
//! say nothing about how the call went for the caller.

use callscope_model::{Call, Role, Sentiment};
use std::sync::LazyLock;
use vader_sentimental::SentimentIntensityAnalyzer;

/// Building the analyzer borrows the crate's static lexicon; one instance serves every call.
static ANALYZER: LazyLock<SentimentIntensityAnalyzer<'static>> =
    LazyLock::new(SentimentIntensityAnalyzer::new);

/// How strongly (VADER compound, −1 to 1) one utterance must lean to set the caller's tone.
/// VADER's authors use 0.05 for "any leaning", but on the phone routine replies lean too:
/// "Okay." scores 0.23, "Yes." 0.4, "No, that's all." −0.3. Only an utterance past
/// 0.5 ("Great, thank you!", "This is ridiculous.") says how the caller felt.
const THRESHOLD: f64 = 0.5;

/// The caller's overall tone; neutral when they said nothing.
pub fn caller_sentiment(call: &Call) -> Sentiment {
    let scores: Vec<f64> = call
        .transcript
        .iter()
        .filter(|entry| entry.role == Role::User)
        .map(|entry| ANALYZER.polarity_scores(&entry.text).compound)
        .collect();
    classify(&scores)
}

/// The sentiment of a sequence of per-utterance compound scores: the caller's most strongly
/// felt utterance decides, as one angry outburst or one heartfelt thanks colours a call more
/// than any number of neutral answers. Summing instead would let a run of mild "okay"s add
/// up to a mood nobody expressed.
fn classify(scores: &[f64]) -> Sentiment {
    let most_positive = scores.iter().copied().fold(0.0, f64::max);
    let most_negative = scores.iter().copied().fold(0.0, f64::min);
    let strongest = if most_positive >= -most_negative {
        most_positive
    } else {
        most_negative
    };
    if strongest >= THRESHOLD {
        Sentiment::Positive
    } else if strongest <= -THRESHOLD {
        Sentiment::Negative
    } else {
        Sentiment::Neutral
    }
}

/// The compound score of one text, for the unit tests and for tuning.
#[cfg(test)]
fn compound(text: &str) -> f64 {
    ANALYZER.polarity_scores(text).compound
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::call_with;

    #[test]
    fn a_silent_caller_is_neutral() {
        let call = call_with(&[(Role::Agent, "This is terrible, awful, horrible news!")]);
        assert_eq!(caller_sentiment(&call), Sentiment::Neutral);
        assert_eq!(caller_sentiment(&call_with(&[])), Sentiment::Neutral);
    }

    #[test]
    fn the_callers_words_decide() {
        let happy = call_with(&[
            (Role::Agent, "Your refund is on its way."),
            (
                Role::User,
                "Wonderful, thank you so much, that's really helpful!",
            ),
        ]);
        assert_eq!(caller_sentiment(&happy), Sentiment::Positive);
        let angry = call_with(&[
            (Role::Agent, "Have a wonderful day!"),
            (
                Role::User,
                "This is ridiculous. Terrible service, I'm really angry.",
            ),
        ]);
        assert_eq!(caller_sentiment(&angry), Sentiment::Negative);
        let plain = call_with(&[
            (Role::User, "My order number is 12345."),
            (Role::User, "Yes."),
            (Role::User, "Okay. Bye."),
            (Role::User, "No, that's all."),
        ]);
        assert_eq!(caller_sentiment(&plain), Sentiment::Neutral);
        let mixed = call_with(&[
            (Role::User, "Thanks."),
            (Role::User, "This is ridiculous, the worst service ever."),
        ]);
        assert_eq!(caller_sentiment(&mixed), Sentiment::Negative);
    }

    #[test]
    fn vader_scores_negations() {
        assert!(compound("good") > 0.0);
        assert!(compound("not good") < 0.0);
    }
}
