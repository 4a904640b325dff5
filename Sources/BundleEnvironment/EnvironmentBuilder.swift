import Foundation

/// Something `prepare` reports while it works, for a progress display.
public enum PrepareEvent: Sendable {
    /// A step starts (creating, installing, checking), or the build ends.
    case step(String)
    /// A line the installer printed (what it resolves, downloads, installs).
    case output(String)
}

/// Builds an environment into an empty folder: creates it from the embedded Python, installs
/// the requirements, links the runtime (`launch_worker`) in, and checks that what the runtime
/// and the framework need imports; every step and every line goes to the creation log.
public struct EnvironmentBuilder: Sendable {
    /// What creates and installs.
    public var installer: Installer
    /// The Python the environment is made from: the one the worker embeds.
    public var basePython: URL
    /// A Python that imports `launch_worker` (the default environment's), asked where it is.
    public var runtimeHost: URL
    /// The variables the installer runs with (the index settings among them).
    public var environment: [String: String]
    /// Told of each step and line.
    public var progress: @Sendable (PrepareEvent) -> Void

    /// Makes a builder.
    public init(
        installer: Installer, basePython: URL, runtimeHost: URL, environment: [String: String],
        progress: @escaping @Sendable (PrepareEvent) -> Void
    ) {
        self.installer = installer
        self.basePython = basePython
        self.runtimeHost = runtimeHost
        self.environment = environment
        self.progress = progress
    }

    /// The file in an environment that lists what was installed.
    public static let requirementsFile = "launch-worker-requirements.txt"

    /// Builds `spec`'s environment in `folder`, logging to `log`.
    ///
    /// - Throws: ``EnvironmentError`` naming the step that failed, with the log's last lines.
    func build(_ spec: EnvironmentSpec, into folder: URL, log: CreationLog, bundle: String) throws(EnvironmentError) {
        log.step("environment \(spec.key) for bundle \(bundle)")
        log.output(
            "python \(spec.pythonVersion) (\(basePython.path)), launch-worker \(spec.runtimeVersion), \(installer)")
        log.output("requirements:")
        spec.requirements.lines.forEach { log.output("  \($0)") }

        step("creating the environment with \(installer)", log)
        try run(installer.createCommand(base: basePython, folder: folder), "creating the environment", log, bundle)

        let requirements = folder.appending(path: Self.requirementsFile)
        do {
            try (spec.requirements.lines.joined(separator: "\n") + "\n").write(
                to: requirements, atomically: false, encoding: .utf8)
        } catch {
            throw EnvironmentError(.cache, bundle: bundle, reason: "cannot write \(requirements.path): \(error)")
        }
        step("installing \(spec.requirements.lines.count) requirements", log)
        try run(
            installer.installCommand(folder: folder, requirements: requirements, environment: environment),
            "installing its requirements", log, bundle, environment: installer.installEnvironment(environment))

        step("linking the runtime (launch_worker)", log)
        try linkRuntime(into: folder, minor: spec.pythonVersion, log: log, bundle: bundle)

        step("checking that \(spec.checkedModules.joined(separator: ", ")) import", log)
        let imports = "import " + spec.checkedModules.joined(separator: ", ")
        let python = folder.appending(path: "bin/python").path
        let status = try runCommand([python, "-c", imports], environment: environment, bundle: bundle) {
            log.output($0)
        }
        if status != 0 {
            step("failed: the imports (exit status \(status))", log)
            throw EnvironmentError(
                .importFailed, bundle: bundle,
                reason: """
                    its environment was built but cannot import what \
                    \(spec.framework.map { "the runtime and \($0.type)" } ?? "the runtime") needs \
                    (\(spec.checkedModules.joined(separator: ", "))): a requirement's pin breaks it; the runtime \
                    needs \(EnvironmentSpec.runtimeNeeds.joined(separator: " and ")). Nothing was kept; the log \
                    is \(log.file.path); its last lines:
                    \(log.lastLines)
                    """)
        }
        step("built in \(log.elapsed)", log)
    }

    private func step(_ text: String, _ log: CreationLog) {
        log.step(text)
        progress(.step(text))
    }

    /// Runs one command of the build with `environment` (the build's when nil), its output going
    /// to the log and the progress display.
    private func run(
        _ command: [String], _ what: String, _ log: CreationLog, _ bundle: String, environment: [String: String]? = nil
    ) throws(EnvironmentError) {
        log.output("$ " + command.joined(separator: " "))
        let progress = self.progress
        let status = try runCommand(command, environment: environment ?? self.environment, bundle: bundle) { line in
            progress(.output(log.output(line)))
        }
        guard status == 0 else {
            step("failed: \(what) (exit status \(status))", log)
            throw EnvironmentError(
                .buildFailed, bundle: bundle,
                reason: """
                    its environment could not be built: \(what) failed (\(command[0]) exit status \(status)). \
                    Nothing was kept; fix the requirement or the index settings (PIP_INDEX_URL, PIP_FIND_LINKS, \
                    UV_*), then prepare again. The log is \(log.file.path); its last lines:
                    \(log.lastLines)
                    """)
        }
    }

    /// Puts the runtime's own `launch_worker` package in the environment's site-packages, as a
    /// link to the one `runtimeHost` imports, so the runtime is the worker's own version.
    private func linkRuntime(into folder: URL, minor version: String, log: CreationLog, bundle: String)
        throws(EnvironmentError)
    {
        var printed: [String] = []
        let script = "import os, launch_worker; print(os.path.dirname(os.path.abspath(launch_worker.__file__)))"
        let status = try runCommand([runtimeHost.path, "-c", script], environment: environment, bundle: bundle) {
            printed.append($0)
        }
        guard status == 0, let package = printed.last else {
            throw EnvironmentError(
                .toolMissing, bundle: bundle,
                reason:
                    "\(runtimeHost.path) cannot import launch_worker (\(printed.joined(separator: " "))): run scripts/setup"
            )
        }
        log.output("launch_worker: \(package)")
        let minor = version.split(separator: ".").prefix(2).joined(separator: ".")
        let link = folder.appending(path: "lib/python\(minor)/site-packages/launch_worker")
        do {
            try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: package)
        } catch {
            throw EnvironmentError(
                .cache, bundle: bundle, reason: "cannot link the runtime into \(link.path): \(error)")
        }
    }
}
