/// What anyone can check of a seal's clear fields without a key, beyond its signature and
/// chain (docs/FORMAT.md §9): a site refuses a seal that fails these (`implausible-seal`),
/// and the keyless audit reports one it finds stored (`implausible-seal` finding).
package enum SealPlausibility {
    /// How far ahead of the checker's clock a seal's time may be.
    package static let clockSkewSeconds: Int64 = 600
    /// Largest plausible file, directory and object counts: about a trillion.
    package static let maxCount: UInt64 = 1 << 40
    /// Largest plausible byte counts: one exbibyte.
    package static let maxBytes: UInt64 = 1 << 60

    /// Why the seal is implausible, or nil. `previousTime` is the time of the seal it follows
    /// (nil for a host's first seal); `now` the checker's clock.
    package static func problem(_ seal: Seal, previousTime: Timestamp?, now: Timestamp) -> String? {
        let time = seal.time
        if time.seconds < 0 { return "its time is before 1970" }
        if time.seconds > now.seconds + clockSkewSeconds {
            return "its time is \(time.seconds - now.seconds) s ahead of the clock here (at most \(clockSkewSeconds) s)"
        }
        if let previousTime, time < previousTime {
            return "its time is before that of seal #\(seal.sequence - 1) of \(seal.hostName), which it follows"
        }
        let counts = seal.counts
        for (name, value) in [("files", counts.files), ("directories", counts.directories), ("added objects", counts.addedObjects)]
        where value > maxCount {
            return "it counts \(value) \(name) (at most \(maxCount))"
        }
        for (name, value) in [("logical bytes", counts.logicalBytes), ("added bytes", counts.addedBytes)] where value > maxBytes {
            return "it counts \(value) \(name) (at most \(maxBytes))"
        }
        return nil
    }
}
