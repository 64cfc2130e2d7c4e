/// The kernel's I/O scheduling classes (ioprio_set(2), `IOPRIO_CLASS_*` in linux/ioprio.h), by
/// the numbers the kernel takes and the names ionice(1) gives them. Like the nice value, an I/O
/// priority belongs to a thread and is inherited by the threads it starts
/// (`ThreadPriority.lowerEveryThread`).
package enum IOPriorityClass: Int32, Sendable, CaseIterable {
    /// No class set: the thread's I/O is served as best-effort at a level derived from its nice
    /// value. Asking for it changes nothing.
    case none = 0
    /// Served before every other class, at its level; needs CAP_SYS_ADMIN. Skiff never asks
    /// for it.
    case realtime = 1
    /// The default: served in turn with other best-effort I/O, by level
    /// (`highestLevel` first, `lowestLevel` last).
    case bestEffort = 2
    /// Served only when no other I/O has waited for the disk for a while: a backup in this
    /// class can starve on a busy disk, but never slows anything else down. Levels do not apply.
    case idle = 3

    /// The most urgent level within the realtime and best-effort classes.
    package static let highestLevel: Int32 = 0
    /// The least urgent level within the realtime and best-effort classes: where background
    /// work such as the agent's goes.
    package static let lowestLevel: Int32 = 7

    /// The class ionice(1) calls `name` ("none", "realtime", "best-effort", "idle").
    package init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    package var name: String {
        switch self {
        case .none: "none"
        case .realtime: "realtime"
        case .bestEffort: "best-effort"
        case .idle: "idle"
        }
    }
}
