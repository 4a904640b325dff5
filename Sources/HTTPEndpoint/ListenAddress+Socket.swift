#if canImport(Glibc)
    import Glibc
#endif

extension ListenAddress {
    /// The port a TCP socket is bound to; nil for a Unix socket.
    public static func port(boundTo descriptor: Int32) -> Int? {
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        return withUnsafeMutablePointer(to: &address) { pointer -> Int? in
            let family = pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic -> Int32 in
                guard getsockname(descriptor, generic, &length) == 0 else { return -1 }
                return Int32(generic.pointee.sa_family)
            }
            switch family {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    Int(UInt16(bigEndian: $0.pointee.sin_port))
                }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    Int(UInt16(bigEndian: $0.pointee.sin6_port))
                }
            default: return nil
            }
        }
    }
}
