/// Checks the links between one host's seals: one seal per sequence number, each naming the
/// hash of the one before it, from sequence 1 without gaps.
package enum SealChain {
    /// Problems in the chain formed by `seals` (all of one host; any order). Signatures are
    /// checked separately, seal by seal.
    package static func problems(in seals: [Seal]) -> [SealError] {
        var problems: [SealError] = []
        var bySequence: [UInt64: Seal] = [:]
        for seal in seals.sorted(by: { ($0.sequence, $0.hash) < ($1.sequence, $1.hash) }) {
            if let other = bySequence[seal.sequence] {
                problems.append(.fork(other.name, seal.name))
                continue
            }
            bySequence[seal.sequence] = seal
        }
        var lowerPresent: UInt64 = 0
        for sequence in bySequence.keys.sorted() {
            let seal = bySequence[sequence]!
            defer { lowerPresent = sequence }
            guard sequence > 1 else { continue }
            guard let previous = bySequence[sequence - 1] else {
                let missing = lowerPresent + 1 == sequence - 1 ? "seal \(sequence - 1)" : "seals \(lowerPresent + 1) to \(sequence - 1)"
                problems.append(.brokenChain(seal.name, "\(missing) of host \(seal.hostName) missing"))
                continue
            }
            if previous.hash != seal.previous {
                problems.append(.brokenChain(seal.name, "names previous seal \(seal.previous.hex.prefix(12))…, but seal \(sequence - 1) is \(previous.hash.hex.prefix(12))…"))
            }
        }
        return problems
    }
}
