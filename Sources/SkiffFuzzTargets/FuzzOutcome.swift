/// What a fuzz target made of one input.
package enum FuzzOutcome: Sendable, Equatable {
    /// The parser accepted the input (and every invariant the target checks held).
    case accepted
    /// The parser refused the input with an error, as it should for malformed input.
    case rejected
}
