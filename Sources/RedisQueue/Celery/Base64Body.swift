import Foundation

/// Base64 message bodies, decoded by Foundation (`.ignoreUnknownCharacters`, as kombu's text is
/// read) straight from the envelope's bytes: no `String` is made of the text, and Foundation
/// borrows the bytes where they lie.
enum Base64Body {
    /// The bytes that `text` encodes; nil when it is not valid base64, or when text that is not
    /// empty decodes to nothing.
    static func decode(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        text.withUnsafeBufferPointer { text in
            guard let start = text.baseAddress, !text.isEmpty else { return [] }
            let encoded = Data(
                bytesNoCopy: UnsafeMutableRawPointer(mutating: start), count: text.count, deallocator: .none)
            guard let data = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters), !data.isEmpty else {
                return nil
            }
            return Array(data)
        }
    }
}
