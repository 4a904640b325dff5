import Foundation

/// Byte counts as people read and write them (`1.5 GiB`, `512M`).
public enum ByteCount {
    private static let units: [(String, UInt64)] = [
        ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10),
    ]

    /// Parses `123`, `64K`, `512M`, `2G`, `1T` (also `KiB`, `MB`...: every suffix means a power of 1024).
    public static func parse(_ text: String) -> UInt64? {
        var digits = text.trimmingCharacters(in: .whitespaces).uppercased()
        for suffix in ["IB", "B"] where digits.hasSuffix(suffix) && digits.count > suffix.count {
            digits.removeLast(suffix.count)
            break
        }
        var multiplier: UInt64 = 1
        if let (_, size) = units.first(where: { digits.hasSuffix($0.0) }) {
            multiplier = size
            digits.removeLast()
        }
        guard let value = UInt64(digits) else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : product
    }

    /// `1.5 GiB`, `12 KiB`, `7 bytes`.
    public static func format(_ count: UInt64) -> String {
        for (unit, size) in units where count >= size {
            let value = Double(count) / Double(size)
            let text = value >= 100 ? String(Int(value.rounded())) : String(format: "%.1f", value)
            return "\(text) \(unit)iB"
        }
        return count == 1 ? "1 byte" : "\(count) bytes"
    }
}
