/// The duration suffixes every command accepts: "90s", "15m", "36h", "14d", "2w".
package enum DurationUnit {
    /// Seconds in one `unit`, or nil for an unknown suffix.
    package static func seconds(per unit: Character) -> Int? {
        switch unit {
        case "s": return 1
        case "m": return 60
        case "h": return 3600
        case "d": return 86_400
        case "w": return 604_800
        default: return nil
        }
    }
}
