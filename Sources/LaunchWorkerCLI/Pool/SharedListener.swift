import Foundation
import HTTPEndpoint

#if canImport(Glibc)
    import Glibc
#endif

/// The listening socket a pool's supervisor opens for `--listen` and every worker process
/// inherits, so that all of them accept on it and the kernel spreads the connections.
///
/// The supervisor opens it (not each worker) so the address is bound once, before any worker
/// starts: port 0 is resolved once, a Unix socket is made once and owner-only, and a worker
/// that restarts finds it still listening, with the connections that arrived meanwhile queued.
struct SharedListener {
    /// The listening descriptor (close-on-exec: only the worker processes get it, as their
    /// ``workerDescriptor``).
    let descriptor: Int32
    /// The address it listens on, with the port the system chose for port 0.
    let address: ListenAddress

    /// The number of a worker's inherited copy of the socket.
    static let workerDescriptor: Int32 = 3

    /// Binds and listens on `address`.
    static func open(_ address: ListenAddress) throws(CLIError) -> SharedListener {
        switch address {
        case .tcp(let host, let port): return try tcp(host: host, port: port)
        case .unix(let path): return try unix(path: path)
        }
    }

    private static func tcp(host: String, port: Int) throws(CLIError) -> SharedListener {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var found: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host == "localhost" ? "127.0.0.1" : host, String(port), &hints, &found)
        guard resolved == 0, let info = found else {
            throw CLIError(
                message: "--listen \(host):\(port): cannot resolve \(host): \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(found) }
        let descriptor = try socket(family: info.pointee.ai_family, address: "\(host):\(port)")
        var on: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        try bindAndListen(descriptor, info.pointee.ai_addr, info.pointee.ai_addrlen, address: "\(host):\(port)")
        return SharedListener(
            descriptor: descriptor, address: .tcp(host: host, port: ListenAddress.port(boundTo: descriptor) ?? port))
    }

    private static func unix(path: String) throws(CLIError) -> SharedListener {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw CLIError(message: "--listen unix:\(path): the path is longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            bytes.copyBytes(from: path.utf8)
            bytes[path.utf8.count] = 0
        }
        let descriptor = try socket(family: AF_UNIX, address: "unix:\(path)")
        unlink(path)  // a socket left by a pool that died
        // Created owner-only: no moment exists when others could connect.
        let mask = umask(0o077)
        defer { umask(mask) }
        try withUnsafePointer(to: &address) { pointer throws(CLIError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic throws(CLIError) in
                try bindAndListen(
                    descriptor, generic, socklen_t(MemoryLayout<sockaddr_un>.size), address: "unix:\(path)")
            }
        }
        return SharedListener(descriptor: descriptor, address: .unix(path: path))
    }

    private static func socket(family: Int32, address: String) throws(CLIError) -> Int32 {
        let descriptor = Glibc.socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else {
            throw CLIError(message: "--listen \(address): cannot make a socket: \(String(cString: strerror(errno)))")
        }
        return descriptor
    }

    private static func bindAndListen(
        _ descriptor: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t, address text: String
    ) throws(CLIError) {
        // Non-blocking: every worker process waits in poll and accepts without blocking
        // (SharedSocketAcceptor), since another may take a connection first.
        guard bind(descriptor, address, length) == 0, listen(descriptor, SOMAXCONN) == 0,
            fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) == 0
        else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw CLIError(message: "--listen \(text): cannot listen there: \(reason)")
        }
    }
}
