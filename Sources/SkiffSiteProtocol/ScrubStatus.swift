import Foundation

/// `GET …/scrub` answer: the site's own re-reading of a tenant's stored objects.
package struct ScrubStatus: Codable, Sendable, Equatable {
    package struct Pass: Codable, Sendable, Equatable {
        package var started: Date
        /// Nil while the pass is under way.
        package var completed: Date?
        package var objects: Int
        package var bytes: Int
        package var quarantined: Int

        package init(started: Date, completed: Date?, objects: Int, bytes: Int, quarantined: Int) {
            self.started = started
            self.completed = completed
            self.objects = objects
            self.bytes = bytes
            self.quarantined = quarantined
        }
    }

    /// Bytes per second the scrubber reads (0: scrubbing is off).
    package var bytesPerSecond: Int
    /// The current pass, or the last one.
    package var pass: Pass?
    /// Objects whose bytes no longer matched their address, moved aside (oldest first, up to 1,000).
    package var quarantined: [QuarantinedObject]

    package init(bytesPerSecond: Int, pass: Pass?, quarantined: [QuarantinedObject]) {
        self.bytesPerSecond = bytesPerSecond
        self.pass = pass
        self.quarantined = quarantined
    }
}

package struct QuarantinedObject: Codable, Sendable, Equatable {
    package var address: String
    package var found: Date
    package var reason: String

    package init(address: String, found: Date, reason: String) {
        self.address = address
        self.found = found
        self.reason = reason
    }
}
