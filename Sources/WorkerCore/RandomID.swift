import CLinux
import Glibc

/// Random ids for hot paths: a version 4 UUID from one `getrandom` call, written out by hand.
/// Foundation's `UUID()` opens and reads `/dev/urandom` for each one, and `uuidString` formats
/// through `vsnprintf`; together they were a tenth of a trivial predict's time on its slot's
/// thread.
public enum RandomID {
    /// A random (version 4) UUID, lowercased: `0b6f2a8e-3c1d-4e5f-9a7b-2c4d6e8f0a1b`.
    public static func uuid() -> String {
        var random: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &random, fill)
        let high = random.0 & 0xFFFF_FFFF_FFFF_0FFF | 0x0000_0000_0000_4000
        let low = random.1 & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000
        return String(unsafeUninitializedCapacity: 36) { text in
            var position = 0
            func hex(_ value: UInt64, digits: Int) {
                for shift in stride(from: (digits - 1) * 4, through: 0, by: -4) {
                    let nibble = UInt8(truncatingIfNeeded: value >> UInt64(shift)) & 0xF
                    text[position] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
                    position += 1
                }
            }
            func dash() {
                text[position] = UInt8(ascii: "-")
                position += 1
            }
            hex(high >> 32, digits: 8)
            dash()
            hex(high >> 16, digits: 4)
            dash()
            hex(high, digits: 4)
            dash()
            hex(low >> 48, digits: 4)
            dash()
            hex(low, digits: 12)
            return position
        }
    }

    /// Fills `buffer` from the kernel's generator, or from the standard library's (which reads
    /// `/dev/urandom` where `getrandom` is missing).
    private static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        var filled = 0
        while filled < buffer.count {
            let count = getrandom(buffer.baseAddress! + filled, buffer.count - filled, 0)
            if count > 0 {
                filled += count
            } else if errno != EINTR {
                var generator = SystemRandomNumberGenerator()
                for index in filled..<buffer.count { buffer[index] = generator.next() }
                return
            }
        }
    }
}
