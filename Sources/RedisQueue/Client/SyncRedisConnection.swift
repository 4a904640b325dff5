import Glibc

/// One plain-TCP connection to Redis driven by blocking system calls on the caller's thread.
///
/// A round trip is one `send` and one `recv`. Through ``RedisConnection`` the same round trip
/// also hands the commands to NIO's event loop and the replies back, which wakes two more
/// threads; for a slot that stores a result and claims its next task, that was half the
/// worker's CPU per task.
///
/// For threads that may block (a slot's own thread), never Swift's cooperative pool. One caller
/// at a time: ``SyncRedisClient`` lends each connection to one caller, so it crosses threads
/// unguarded (hence `@unchecked Sendable`). A connection that fails closes and stays closed.
final class SyncRedisConnection: @unchecked Sendable {
    private var socket: Int32
    private let replyTimeout: Duration
    private let parser = RESPParser()
    /// Bytes received: `input[parsed..<filled]` are not parsed yet.
    private var input = [UInt8](repeating: 0, count: 16 << 10)
    private var parsed = 0
    private var filled = 0
    private var polling = ReplyPolling()

    private init(socket: Int32, replyTimeout: Duration) {
        self.socket = socket
        self.replyTimeout = replyTimeout
    }

    deinit {
        if socket >= 0 { Glibc.close(socket) }
    }

    /// Connects within `timeout`, logs in and selects the database; every later send and reply
    /// must come within `replyTimeout`.
    ///
    /// - Throws: ``RedisClientError/connection(_:)`` and, from the handshake,
    ///   ``RedisClientError/server(_:)``.
    static func connect(
        to address: RedisAddress, timeout: Duration, replyTimeout: Duration
    ) throws(RedisClientError) -> SyncRedisConnection {
        let connection = try SyncRedisConnection(
            socket: openSocket(to: address, timeout: timeout), replyTimeout: replyTimeout)
        for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
            var limit = timeval(replyTimeout)
            setsockopt(connection.socket, SOL_SOCKET, option, &limit, socklen_t(MemoryLayout<timeval>.size))
        }
        let handshake = RedisHandshake.commands(for: address)
        try RedisHandshake.check(connection.send(handshake), of: handshake, at: address)
        return connection
    }

    /// A connected TCP socket, trying each of the host's addresses in turn.
    private static func openSocket(to address: RedisAddress, timeout: Duration) throws(RedisClientError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(address.host, String(address.port), &hints, &found)
        guard status == 0 else {
            throw .connection("cannot resolve \(address.host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(found) }
        var reason = "no address"
        var next = found
        while let candidate = next?.pointee {
            next = candidate.ai_next
            let fd = Glibc.socket(candidate.ai_family, candidate.ai_socktype, candidate.ai_protocol)
            guard fd >= 0 else {
                reason = lastError()
                continue
            }
            // On Linux the send timeout bounds connect() too.
            var limit = timeval(timeout)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            if Glibc.connect(fd, candidate.ai_addr, candidate.ai_addrlen) == 0 {
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            reason = errno == EINPROGRESS ? "no answer within \(timeout)" : lastError()
            Glibc.close(fd)
        }
        throw .connection("cannot connect to \(address.host):\(address.port): \(reason)")
    }

    /// Sends `commands` in one write and returns their replies in order (error replies included).
    ///
    /// - Throws: ``RedisClientError/connection(_:)`` when the connection failed or no reply came
    ///   in time (the commands may or may not have run); the connection is then closed.
    func send(_ commands: [RedisCommand]) throws(RedisClientError) -> [RESPValue] {
        guard socket >= 0 else { throw .connection("the connection to Redis closed") }
        do {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(commands.reduce(0) { $0 + $1.encodedSize })
            for command in commands { command.encode(into: &bytes) }
            try write(bytes)
            var replies: [RESPValue] = []
            replies.reserveCapacity(commands.count)
            while replies.count < commands.count {
                guard let value = try nextValue() else {
                    try receive()
                    continue
                }
                if case .push = value { continue }  // out-of-band: no command waits for it
                replies.append(value)
            }
            return replies
        } catch {
            Glibc.close(socket)
            socket = -1
            throw error
        }
    }

    private func write(_ bytes: [UInt8]) throws(RedisClientError) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { bytes in
                Glibc.send(socket, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard count >= 0 else {
                if errno == EINTR { continue }
                throw .connection(errno == EAGAIN ? "Redis took in no commands within \(replyTimeout)" : lastError())
            }
            offset += count
        }
    }

    /// The next whole value received, or nil when more bytes must come first.
    private func nextValue() throws(RedisClientError) -> RESPValue? {
        let parsed: (value: RESPValue, length: Int)?
        do {
            parsed = try input.withUnsafeBytes { bytes throws(RESPError) in
                try parser.parse(UnsafeRawBufferPointer(rebasing: bytes[self.parsed..<filled]))
            }
        } catch {
            throw .connection("unreadable reply from Redis: \(error)")
        }
        guard let parsed else { return nil }
        self.parsed += parsed.length
        if self.parsed == filled { (self.parsed, filled) = (0, 0) }
        return parsed.value
    }

    /// Receives more bytes, making room first (moving the unparsed ones to the front, or growing);
    /// polls before it sleeps (``ReplyPolling``).
    private func receive() throws(RedisClientError) {
        if filled == input.count {
            if parsed > 0 {
                input.withUnsafeMutableBytes { bytes in
                    bytes.baseAddress!.copyMemory(from: bytes.baseAddress! + parsed, byteCount: filled - parsed)
                }
                (parsed, filled) = (0, filled - parsed)
            } else {
                input.append(contentsOf: repeatElement(0, count: input.count))
            }
        }
        var polls = polling.pollsForNextWait()
        while true {
            let flags = polls > 0 ? Int32(MSG_DONTWAIT) : 0
            let count = input.withUnsafeMutableBytes { bytes in
                Glibc.recv(socket, bytes.baseAddress! + filled, bytes.count - filled, flags)
            }
            if count > 0 {
                if polls > 0 { polling.record(caught: true) }
                filled += count
                return
            }
            if count < 0, polls > 0, errno == EAGAIN || errno == EWOULDBLOCK {
                polls -= 1
                if polls == 0 { polling.record(caught: false) } else { sched_yield() }
                continue
            }
            if count < 0, errno == EINTR { continue }
            if count == 0 { throw .connection("the connection to Redis closed") }
            throw .connection(errno == EAGAIN ? "no reply from Redis within \(replyTimeout)" : lastError())
        }
    }
}

/// The last system call's error, in words.
private func lastError() -> String {
    String(cString: strerror(errno))
}

extension timeval {
    /// `duration` as a socket timeout.
    fileprivate init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
