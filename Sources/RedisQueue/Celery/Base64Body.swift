import Foundation

/// Base64 message bodies as kombu writes them, decoded with Foundation's rules
/// (`.ignoreUnknownCharacters`): canonical text (letters, digits, `+`, `/`, padded with `=` to a
/// multiple of four), which is every body kombu writes, is decoded here in one pass into one
/// array; any other text is left to Foundation, which decides what it means.
enum Base64Body {
    /// The bytes that `text` encodes; nil when it is not valid base64.
    static func decode(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        text.withUnsafeBufferPointer { text in decodeCanonical(text) ?? decodeWithFoundation(text) }
    }

    /// The bytes that canonical base64 `text` encodes; nil when `text` is empty or not canonical.
    static func decodeCanonical(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard !text.isEmpty, text.count.isMultiple(of: 4) else { return nil }
        var padding = 0
        while padding < 2, text[text.count - 1 - padding] == UInt8(ascii: "=") { padding += 1 }
        let digits = text.count - padding
        // Every digit a character stands for is below 64: `seen` gets a higher bit from any other.
        var seen: UInt8 = 0
        let bytes = sextets.withUnsafeBufferPointer { sextets in
            [UInt8](unsafeUninitializedCapacity: digits * 3 / 4) { bytes, count in
                func bits(_ index: Int) -> UInt32 {
                    let value = sextets[Int(text[index])]
                    seen |= value
                    return UInt32(value)
                }
                var index = 0
                while index + 4 <= digits {
                    let group = bits(index) << 18 | bits(index + 1) << 12 | bits(index + 2) << 6 | bits(index + 3)
                    bytes[count] = UInt8(truncatingIfNeeded: group >> 16)
                    bytes[count + 1] = UInt8(truncatingIfNeeded: group >> 8)
                    bytes[count + 2] = UInt8(truncatingIfNeeded: group)
                    index += 4
                    count += 3
                }
                // The last group's one or two bytes; bits left over after them are ignored, as
                // Foundation does.
                if digits - index >= 2 {
                    let group =
                        bits(index) << 18 | bits(index + 1) << 12 | (digits - index == 3 ? bits(index + 2) << 6 : 0)
                    bytes[count] = UInt8(truncatingIfNeeded: group >> 16)
                    count += 1
                    if digits - index == 3 {
                        bytes[count] = UInt8(truncatingIfNeeded: group >> 8)
                        count += 1
                    }
                }
            }
        }
        return seen < 64 ? bytes : nil
    }

    /// Each byte's six bits as a base64 digit, or 0xFF for a byte that is not one.
    private static let sextets: [UInt8] = {
        var sextets = [UInt8](repeating: 0xFF, count: 256)
        let digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        for (value, character) in digits.utf8.enumerated() { sextets[Int(character)] = UInt8(value) }
        return sextets
    }()

    /// What Foundation's `Data(base64Encoded:options: .ignoreUnknownCharacters)` decodes `text`
    /// to; nil when it refuses it, or when it finds nothing in text that is not empty.
    static func decodeWithFoundation(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard let start = text.baseAddress, !text.isEmpty else { return [] }
        // Foundation reads the text where it lies: the `Data` only borrows it for this call.
        let encoded = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: start), count: text.count, deallocator: .none)
        guard let data = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters), !data.isEmpty else {
            return nil
        }
        return Array(data)
    }
}
