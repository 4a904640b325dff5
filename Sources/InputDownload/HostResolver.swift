import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Resolves a host name to its addresses with `getaddrinfo`, which blocks: it runs on NIO's
/// blocking thread pool, never on Swift's cooperative pool or an event loop.
enum HostResolver {
    /// Every address `host` resolves to, as text (`93.184.216.34`, `2606:2800::1`).
    ///
    /// - Throws: ``DownloadError`` when the name does not resolve.
    static func addresses(of host: String) async throws(DownloadError) -> [String] {
        let result: Result<[String], DownloadError>
        do {
            result = try await NIOThreadPool.singleton.runIfActive { resolve(host) }
        } catch {
            throw DownloadError("cannot be downloaded: its host \(host) could not be resolved (\(error))")
        }
        return try result.get()
    }

    private static func resolve(_ host: String) -> Result<[String], DownloadError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else {
            return .failure(
                DownloadError(
                    "cannot be downloaded: its host \(host) could not be resolved (\(String(cString: gai_strerror(status))))"
                ))
        }
        defer { freeaddrinfo(list) }
        var addresses: [String] = []
        var entry = list
        while let info = entry?.pointee {
            if let text = text(of: info), !addresses.contains(text) { addresses.append(text) }
            entry = info.ai_next
        }
        guard !addresses.isEmpty else {
            return .failure(DownloadError("cannot be downloaded: its host \(host) has no address"))
        }
        return .success(addresses)
    }

    /// The numeric text of one `getaddrinfo` result.
    private static func text(of info: addrinfo) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let status = getnameinfo(
            info.ai_addr, info.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST)
        guard status == 0 else { return nil }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
