//! The lab's own terms, which the terminal and the live page both use inside
//! their messages: an outcome, a verdict, a window's kind, an analysis
//! interval's look at the gates. One table per language, so both say them
//! the same way.

use crate::i18n::Localized;
use lab_core::analysis::{Outcome, Verdict, WindowKind};
use lab_core::run_event::InterimVerdict;

/// One of the lab's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Term {
    /// What a rollout came to.
    Outcome(Outcome),
    /// A gate's or a split's verdict.
    Verdict(Verdict),
    /// A window's kind: observe, analyze, transition.
    WindowKind(WindowKind),
    /// What an analysis interval's look at the gates concluded.
    Interim(InterimVerdict),
}

impl Localized for Term {
    fn english(&self) -> String {
        english(*self).to_owned()
    }

    fn korean(&self) -> String {
        korean(*self).to_owned()
    }
}

/// The English table: lab-core's own names where it has them.
fn english(term: Term) -> &'static str {
    match term {
        Term::Outcome(Outcome::Promoted) => "promoted",
        Term::Outcome(Outcome::RolledBack) => "rolled back",
        Term::Verdict(Verdict::Pass) => "pass",
        Term::Verdict(Verdict::Fail) => "FAIL",
        Term::Verdict(Verdict::Inconclusive) => "inconclusive",
        Term::Verdict(Verdict::NotApplicable) => "n/a",
        Term::WindowKind(kind) => kind.as_str(),
        Term::Interim(verdict) => verdict.as_str(),
    }
}

/// The Korean table.
fn korean(term: Term) -> &'static str {
    match term {
        Term::Outcome(Outcome::Promoted) => "승격",
        Term::Outcome(Outcome::RolledBack) => "롤백",
        Term::Verdict(Verdict::Pass) => "통과",
        Term::Verdict(Verdict::Fail) => "실패",
        Term::Verdict(Verdict::Inconclusive) => "판단 보류",
        Term::Verdict(Verdict::NotApplicable) => "해당 없음",
        Term::WindowKind(WindowKind::Observe) => "관찰",
        Term::WindowKind(WindowKind::Analyze) => "분석",
        Term::WindowKind(WindowKind::Transition) => "전환",
        Term::Interim(InterimVerdict::FailNow) => "즉시 실패",
        Term::Interim(InterimVerdict::KeepObserving) => "아직 판단하기 이르므로 계속 관찰",
        Term::Interim(InterimVerdict::PassSoFar) => "지금까지 통과",
    }
}
