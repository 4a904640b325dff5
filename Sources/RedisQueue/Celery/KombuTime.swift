import Foundation
import JSONBytes
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// Times as Celery and kombu write them: ISO 8601 text (`2024-05-01T12:00:00.123456+00:00`,
/// naive meaning UTC), kombu's JSON type tags (`{"__type__": "datetime", "__value__": ISO}`,
/// also `date`), or seconds since the epoch.
public enum KombuTime {
    /// The time that the JSON text `json` stands for, or nil when it is none of the forms above
    /// (or nil itself).
    public static func date(fromJSON json: ArraySlice<UInt8>?) -> Date? {
        guard let json else { return nil }
        if let text = RawJSON.stringBytes(json) { return text.withUnsafeBufferPointer(parse(utf8:)) }
        if let tagged = RawJSON.Object(json) {
            guard let type = tagged.string("__type__"), let value = tagged[raw: "__value__"] else { return nil }
            switch type {
            case "datetime": return RawJSON.stringBytes(value)?.withUnsafeBufferPointer(parse(utf8:))
            case "date": return RawJSON.string(value).flatMap { parse($0 + "T00:00:00") }
            default: return nil
            }
        }
        return Double(String(decoding: json, as: UTF8.self)).map { Date(timeIntervalSince1970: $0) }
    }

    /// Parses `YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]][Z|±HH[:]MM]`; naive times are UTC.
    public static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8(parse(utf8:))
    }

    /// Parses the UTF-8 text `bytes` as ``parse(_:)`` does.
    static func parse(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        var index = 0
        func number(_ digits: Int) -> Int? {
            guard index + digits <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + digits] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            index += digits
            return value
        }
        func take(_ characters: StaticString) -> Bool {
            guard index < bytes.count, characters.withUTF8Buffer({ $0.contains(bytes[index]) }) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), take("-"), let month = number(2), take("-"), let day = number(2) else { return nil }
        var hour = 0
        var minute = 0
        var second = 0
        var fraction = 0.0
        if take("T t") {
            guard let h = number(2), take(":"), let m = number(2) else { return nil }
            (hour, minute) = (h, m)
            if take(":") {
                guard let s = number(2) else { return nil }
                second = s
                if take(".,") {
                    var scale = 0.1
                    while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                        fraction += Double(bytes[index] - 48) * scale
                        scale /= 10
                        index += 1
                    }
                }
            }
        }
        var offset = 0
        if take("Zz") {
            offset = 0
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let hours = number(2) else { return nil }
            _ = take(":")
            let minutes = number(2) ?? 0
            offset = sign * (hours * 3600 + minutes * 60)
        }
        guard index == bytes.count else { return nil }
        var parts = tm()
        (parts.tm_year, parts.tm_mon, parts.tm_mday) = (Int32(year - 1900), Int32(month - 1), Int32(day))
        (parts.tm_hour, parts.tm_min, parts.tm_sec) = (Int32(hour), Int32(minute), Int32(second))
        // Four-digit years cannot overflow timegm's 64-bit result.
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(seconds) + fraction - Double(offset))
    }

    /// A time as Celery writes `date_done`: `2024-05-01T12:00:00.123456+00:00`.
    public static func format(_ date: Date) -> String {
        var text: [UInt8] = []
        append(date, to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// Appends ``format(_:)``'s text for `date` to `text`.
    static func append(_ date: Date, to text: inout [UInt8]) {
        let whole = date.timeIntervalSince1970.rounded(.down)
        var seconds = time_t(whole)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let micros = min(999_999, Int(((date.timeIntervalSince1970 - whole) * 1_000_000).rounded()))
        func field(_ value: Int32, plus: Int = 0, width: Int = 2, then separator: Unicode.Scalar) {
            appendPadded(Int(value) + plus, width: width, to: &text)
            text.append(UInt8(ascii: separator))
        }
        field(parts.tm_year, plus: 1900, width: 4, then: "-")
        field(parts.tm_mon, plus: 1, then: "-")
        field(parts.tm_mday, then: "T")
        field(parts.tm_hour, then: ":")
        field(parts.tm_min, then: ":")
        field(parts.tm_sec, then: ".")
        appendPadded(micros, width: 6, to: &text)
        text.append(contentsOf: "+00:00".utf8)
    }

    /// Appends `String(value)` left-padded with zeros to `width` characters (a sign counts as one).
    private static func appendPadded(_ value: Int, width: Int, to text: inout [UInt8]) {
        var scale: UInt = 1
        var digits = 1
        while value.magnitude / scale >= 10 {
            scale *= 10
            digits += 1
        }
        let length = digits + (value < 0 ? 1 : 0)
        text.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: max(0, width - length)))
        if value < 0 { text.append(UInt8(ascii: "-")) }
        var rest = value.magnitude
        while scale > 0 {
            text.append(UInt8(ascii: "0") + UInt8(rest / scale))
            rest %= scale
            scale /= 10
        }
    }
}
