import Foundation

/// One entry of a tar archive, as its header (and any pax or GNU extension before it) says.
public struct TarEntry: Sendable, Equatable {
    /// What the entry is.
    public enum Kind: Sendable, Equatable {
        /// A regular file (type `0`, NUL or `7`).
        case file
        /// A folder (type `5`).
        case directory
        /// A symbolic link (type `2`) to ``TarEntry/linkTarget``.
        case symbolicLink
        /// A hard link (type `1`) to the earlier entry ``TarEntry/linkTarget``.
        case hardLink
        /// A character device (type `3`).
        case characterDevice
        /// A block device (type `4`).
        case blockDevice
        /// A FIFO (type `6`).
        case fifo
        /// Any other type flag.
        case other(UInt8)

        /// The header's type flag.
        var flag: UInt8 {
            switch self {
            case .file: UInt8(ascii: "0")
            case .hardLink: UInt8(ascii: "1")
            case .symbolicLink: UInt8(ascii: "2")
            case .characterDevice: UInt8(ascii: "3")
            case .blockDevice: UInt8(ascii: "4")
            case .directory: UInt8(ascii: "5")
            case .fifo: UInt8(ascii: "6")
            case .other(let flag): flag
            }
        }

        init(flag: UInt8) {
            switch flag {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): self = .file
            case UInt8(ascii: "1"): self = .hardLink
            case UInt8(ascii: "2"): self = .symbolicLink
            case UInt8(ascii: "3"): self = .characterDevice
            case UInt8(ascii: "4"): self = .blockDevice
            case UInt8(ascii: "5"): self = .directory
            case UInt8(ascii: "6"): self = .fifo
            default: self = .other(flag)
            }
        }
    }

    /// The entry's path inside the archive, as stored.
    public var name: String
    /// What the entry is.
    public var kind: Kind
    /// The size of its data (files only).
    public var size: UInt64
    /// Its permission bits.
    public var mode: UInt32
    /// A link's target; empty for other kinds.
    public var linkTarget: String

    /// Makes an entry.
    public init(name: String, kind: Kind, size: UInt64 = 0, mode: UInt32 = 0o644, linkTarget: String = "") {
        self.name = name
        self.kind = kind
        self.size = size
        self.mode = mode
        self.linkTarget = linkTarget
    }
}

/// The 512-byte ustar header block, encoded and decoded.
enum TarHeader {
    static let blockSize = 512
    /// The largest size an 11-digit octal field holds; larger sizes go in a pax record.
    static let maxOctalSize: UInt64 = 0o77777777777

    /// Field offsets and lengths in the header block.
    enum Field {
        static let name = (0, 100)
        static let mode = (100, 8)
        static let uid = (108, 8)
        static let gid = (116, 8)
        static let size = (124, 12)
        static let mtime = (136, 12)
        static let checksum = (148, 8)
        static let type = 156
        static let linkName = (157, 100)
        static let magic = (257, 6)
        static let version = (263, 2)
        static let prefix = (345, 155)
    }

    /// Encodes a header; `name` and `linkTarget` must fit their fields (the writer sees to it).
    static func encode(name: String, kind: TarEntry.Kind, size: UInt64, mode: UInt32, linkTarget: String) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: blockSize)
        put(Array(name.utf8), at: Field.name, in: &block)
        put(octal(UInt64(mode), width: Field.mode.1), at: Field.mode, in: &block)
        put(octal(0, width: Field.uid.1), at: Field.uid, in: &block)
        put(octal(0, width: Field.gid.1), at: Field.gid, in: &block)
        put(octal(min(size, maxOctalSize), width: Field.size.1), at: Field.size, in: &block)
        put(octal(0, width: Field.mtime.1), at: Field.mtime, in: &block)
        block[Field.type] = kind.flag
        put(Array(linkTarget.utf8), at: Field.linkName, in: &block)
        put(Array("ustar\0".utf8), at: Field.magic, in: &block)
        put(Array("00".utf8), at: Field.version, in: &block)
        let sum = checksum(of: block)
        put(octal(UInt64(sum), width: 7) + [0x20], at: Field.checksum, in: &block)
        return block
    }

    /// The header checksum: the sum of its bytes, with the checksum field read as spaces.
    static func checksum(of block: [UInt8]) -> UInt32 {
        var sum: UInt32 = 0
        for (index, byte) in block.enumerated() {
            let inField = index >= Field.checksum.0 && index < Field.checksum.0 + Field.checksum.1
            sum += UInt32(inField ? 0x20 : byte)
        }
        return sum
    }

    /// A NUL-terminated octal number filling `width` bytes.
    static func octal(_ value: UInt64, width: Int) -> [UInt8] {
        let digits = String(value, radix: 8)
        return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
    }

    /// A numeric field: octal ASCII (spaces and NULs ignored), or GNU base-256 when its first
    /// byte has the high bit set. Nil when it is neither.
    static func number(_ block: [UInt8], _ field: (Int, Int)) -> UInt64? {
        let bytes = block[field.0..<field.0 + field.1]
        if let first = bytes.first, first & 0x80 != 0 {
            guard first == 0x80 else { return nil }  // Negative or too large.
            var value: UInt64 = 0
            for byte in bytes.dropFirst() {
                guard value >> 56 == 0 else { return nil }
                value = value << 8 | UInt64(byte)
            }
            return value
        }
        let text = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        if text.isEmpty { return 0 }
        return UInt64(text, radix: 8)
    }

    /// A string field, up to its first NUL.
    static func string(_ block: [UInt8], _ field: (Int, Int)) -> String {
        String(decoding: block[field.0..<field.0 + field.1].prefix { $0 != 0 }, as: UTF8.self)
    }

    private static func put(_ bytes: [UInt8], at field: (Int, Int), in block: inout [UInt8]) {
        for (index, byte) in bytes.prefix(field.1).enumerated() { block[field.0 + index] = byte }
    }
}
