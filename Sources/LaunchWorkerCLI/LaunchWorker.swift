import ArgumentParser
import Foundation
import LogOutput
import PythonBridge

/// The `launch-worker` command: runs Scale Launch model bundles on an embedded CPython.
@main
struct LaunchWorker: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "launch-worker",
        abstract: "Run Scale Launch model bundles with an embedded CPython.",
        discussion: """
            A bundle is a folder holding bundle.json (the metadata the Launch client sends) and \
            artifact (the cloudpickle bytes or the zip of code folders it uploads). Build one with \
            launch_worker.BundleBuilder from runtime/, or see sample-bundles/.

            Exit status: 0 on SUCCESS, 1 on FAILURE, 2 on a usage, request or bundle error, 3 when \
            run's bundle ended the process or serve --exit-on-stuck found a task stuck.
            """,
        version: "launch-worker \(version) (embeds Python \(PythonEnvironment.linkedVersion))",
        subcommands: [
            RunCommand.self, BatchCommand.self, ServeCommand.self, BenchCommand.self, SubmitCommand.self,
            StatusCommand.self, DoctorCommand.self, PrepareCommand.self,
            PackCommand.self, InspectCommand.self, CacheCommand.self, GatewayCommand.self,
        ]
    )

    /// Runs the command, with exit status 2 (not ArgumentParser's 64) for usage errors.
    static func main() async {
        MemoryPolicy.keepFreedMemoryForReuse()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            LogLineWriter.standardError.flush()  // the lines logged before it come first
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            Foundation.exit(error.status)
        } catch {
            let code = exitCode(for: error)
            guard code != .success else { exit(withError: error) }
            let message = fullMessage(for: error)
            LogLineWriter.standardError.flush()
            if !message.isEmpty { FileHandle.standardError.write(Data("\(message)\n".utf8)) }
            Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}

/// An error the CLI reports as one line on stderr, with its exit status.
struct CLIError: Error {
    /// What went wrong and what to do about it.
    var message: String
    /// The process's exit status.
    var status: Int32 = 2
}
