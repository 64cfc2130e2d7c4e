import Foundation
import SkiffCore

/// Time stamps as people read and type them.
package enum TimeFormat {
    /// "2026-11-22T14:02:00.123456789Z".
    package static func iso8601(_ time: Timestamp) -> String {
        let date = Date(timeIntervalSince1970: TimeInterval(time.seconds))
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        var text = formatter.string(from: date)
        if time.nanoseconds > 0 {
            let fraction = String(format: "%09u", time.nanoseconds)
            text.insert(contentsOf: "." + fraction, at: text.index(before: text.endIndex))
        }
        return text
    }

    /// "2026-11-22 15:02:00" in the local time zone, for tables.
    package static func local(_ time: Timestamp) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        formatter.timeZone = .current
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(time.seconds)))
    }

    /// Parses an ISO 8601 time ("2026-11-22T14:02:00Z", with or without fractional seconds
    /// or offset; without an offset it is local time), "YYYY-MM-DD HH:MM[:SS]" in local time,
    /// "now", or a relative form "-2h", "-30m", "-1d", "-45s", "-1w" before `now`.
    package static func parse(_ text: String, now: Date = Date()) -> Timestamp? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "now" { return timestamp(now) }
        if trimmed.hasPrefix("-"), let unit = trimmed.last, let amount = Double(trimmed.dropFirst().dropLast()) {
            guard let perUnit = DurationUnit.seconds(per: unit) else { return nil }
            return timestamp(now.addingTimeInterval(-amount * Double(perUnit)))
        }
        // Fractional seconds are read exactly (to the nanosecond), not through a Double, so that
        // a seal's own printed time selects that seal.
        let (whole, nanoseconds) = splitFraction(trimmed)
        guard let nanoseconds else { return nil }
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime]
        if let date = iso.date(from: whole) { return Timestamp(seconds: Int64(date.timeIntervalSince1970), nanoseconds: nanoseconds) }
        let local = DateFormatter()
        local.timeZone = .current
        local.locale = Locale(identifier: "en_US_POSIX")
        for format in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm", "yyyy-MM-dd"] {
            local.dateFormat = format
            if let date = local.date(from: whole) { return Timestamp(seconds: Int64(date.timeIntervalSince1970), nanoseconds: nanoseconds) }
        }
        return nil
    }

    /// Removes ".digits" after the seconds and returns them as nanoseconds (0 when absent, nil
    /// when there are more than nine digits).
    private static func splitFraction(_ text: String) -> (String, UInt32?) {
        guard let dot = text.firstIndex(of: ".") else { return (text, 0) }
        let digits = text[text.index(after: dot)...].prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 9, let value = UInt32(digits) else { return (text, digits.isEmpty ? 0 : nil) }
        var scale: UInt32 = 1
        for _ in digits.count..<9 { scale *= 10 }
        let rest = text[digits.endIndex...]
        return (String(text[..<dot]) + rest, value * scale)
    }

    package static func timestamp(_ date: Date) -> Timestamp {
        let interval = date.timeIntervalSince1970
        let seconds = floor(interval)
        return Timestamp(seconds: Int64(seconds), nanoseconds: UInt32(min(999_999_999, max(0, (interval - seconds) * 1e9))))
    }

    package static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(seconds: Int64(spec.tv_sec), nanoseconds: UInt32(spec.tv_nsec))
    }

    /// "14d", "36h", "15m" or "90s": the largest unit that divides `seconds` exactly.
    package static func duration(_ seconds: Int) -> String {
        if seconds % 86_400 == 0 && seconds > 0 { return "\(seconds / 86_400)d" }
        if seconds % 3600 == 0 && seconds > 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 && seconds > 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }

    /// Parses "90s", "15m", "36h", "14d", "2w" or plain seconds; nil for anything else,
    /// negative amounts, and amounts whose seconds do not fit in an `Int`.
    package static func parseDuration(_ text: String) -> Int? {
        guard let last = text.last else { return nil }
        if let unit = DurationUnit.seconds(per: last) {
            guard let value = Int(text.dropLast()), value >= 0 else { return nil }
            let (seconds, overflow) = value.multipliedReportingOverflow(by: unit)
            return overflow ? nil : seconds
        }
        guard let value = Int(text), value >= 0 else { return nil }
        return value
    }
}
