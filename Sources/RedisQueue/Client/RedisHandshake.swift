/// The commands that open a session on a new connection, whichever kind: log in (`AUTH`),
/// select the database, and name the client (`CLIENT SETNAME`, as `CLIENT LIST` shows it).
enum RedisHandshake {
    /// The commands for `address`, in order.
    static func commands(for address: RedisAddress) -> [RedisCommand] {
        var commands: [RedisCommand] = []
        if let password = address.password {
            commands.append(
                address.username.map { RedisCommand("AUTH", $0, password) } ?? RedisCommand("AUTH", password))
        }
        if address.database != 0 { commands.append(RedisCommand("SELECT", String(address.database))) }
        commands.append(RedisCommand("CLIENT", "SETNAME", "launch-worker"))
        return commands
    }

    /// Checks the replies to ``commands(for:)``.
    ///
    /// - Throws: ``RedisClientError/server(_:)`` saying which step failed, and for a refused
    ///   password where to fix it.
    static func check(_ replies: [RESPValue], of commands: [RedisCommand], at address: RedisAddress)
        throws(RedisClientError)
    {
        for (command, reply) in zip(commands, replies) {
            guard let message = reply.errorMessage else { continue }
            if command.name == "AUTH" {
                throw .server(
                    "Redis refused the password (\(message)): check the URL's user-info or --redis-password-file")
            }
            throw .server("\(command.name) failed at \(address): \(message)")
        }
    }
}
