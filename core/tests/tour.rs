//! The guided tour (`cargo run -p enlace-core --example tour`) plays the
//! whole story and tells it the same way every time. The example's files
//! are compiled into this test, so `cargo test` plays the tour that
//! `cargo run` prints.

#[path = "../examples/tour/main.rs"]
#[allow(dead_code)] // the example's `main`
mod tour;

#[test]
fn the_tour_plays_the_whole_story() {
    let text = tour::narrate().unwrap_or_else(|e| panic!("the tour failed: {e}"));
    for expected in [
        "replayed = true",
        "slot_full",
        "not_permitted",
        "outside_availability",
        "too_short_notice",
        "beyond_horizon",
        "appointment_rescheduled",
        "waitlist_slot_offered",
        "waitlist_satisfied",
        "referral_created",
        "counter_referral_acknowledged",
        "follow_up_booked",
        "Referral #1 is now completed",
        "unbroken",
        "hash_mismatch",
        "sequence_gap",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
}

#[test]
fn the_tour_is_deterministic() {
    assert_eq!(tour::narrate(), tour::narrate());
}
