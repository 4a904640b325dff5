import Foundation

/// Which installer `prepare` should use.
public enum InstallerChoice: String, Sendable, CaseIterable {
    /// uv when it is found, pip otherwise.
    case auto
    /// uv, or an error when it is not found.
    case uv
    /// `python -m venv` and pip, even when uv is there.
    case pip
}

/// What creates an environment and installs into it: uv (many times faster, with a shared wheel
/// cache), or the standard library's `venv` and the environment's own pip.
public enum Installer: Sendable, Equatable, CustomStringConvertible {
    /// uv, at this path.
    case uv(URL)
    /// `python -m venv` and pip.
    case pip

    public var description: String {
        switch self {
        case .uv(let path): "uv (\(path.path))"
        case .pip: "python -m venv and pip"
        }
    }

    /// The installer `choice` asks for: uv from `folders` (the default environment's `bin`, say),
    /// then `$PATH`.
    ///
    /// - Throws: ``EnvironmentError`` when `choice` is `.uv` and none is found.
    public static func find(
        _ choice: InstallerChoice, in folders: [URL], environment: [String: String], bundle: String
    ) throws(EnvironmentError) -> Installer {
        if choice == .pip { return .pip }
        let path = (environment["PATH"] ?? "").split(separator: ":").map { URL(filePath: String($0)) }
        for folder in folders + path {
            let candidate = folder.appending(path: "uv")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return .uv(candidate) }
        }
        if choice == .uv {
            throw EnvironmentError(
                .toolMissing, bundle: bundle,
                reason:
                    "--installer uv: uv is not installed; run scripts/setup (it installs uv into .venv) or pip install uv"
            )
        }
        return .pip
    }

    /// The command that makes an empty environment at `folder` from the Python `base`.
    func createCommand(base: URL, folder: URL) -> [String] {
        switch self {
        case .uv(let uv):
            // Relocatable, since it is made in a temporary folder and renamed into place.
            [uv.path, "venv", "--python", base.path, "--relocatable", "--allow-existing", folder.path]
        case .pip:
            [base.path, "-m", "venv", folder.path]
        }
    }

    /// The command that installs the requirements file `requirements` into the environment at
    /// `folder`, with the wheel folders of `environment` that the installer does not read itself;
    /// it runs with ``installEnvironment(_:)``.
    func installCommand(folder: URL, requirements: URL, environment: [String: String]) -> [String] {
        let python = folder.appending(path: "bin/python").path
        let pip = IndexSettings.pip(environment)
        let uvSettings = IndexSettings.uv(environment)
        switch self {
        case .uv(let uv):
            return [uv.path, "pip", "install", "--python", python, "-r", requirements.path]
                + pip.arguments(besides: uvSettings)
        case .pip:
            return [
                python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-r", requirements.path,
            ]
                + uvSettings.arguments(besides: pip)
        }
    }

    /// `environment` with the indexes of the other installer's variables added as this one's,
    /// where it has none of its own of that kind: what ``installCommand(folder:requirements:environment:)``
    /// runs with.
    func installEnvironment(_ environment: [String: String]) -> [String: String] {
        let pip = IndexSettings.pip(environment)
        let uvSettings = IndexSettings.uv(environment)
        let added =
            switch self {
            case .uv: pip.indexVariables(prefix: "UV_", besides: uvSettings)
            case .pip: uvSettings.indexVariables(prefix: "PIP_", besides: pip)
            }
        return environment.merging(added) { _, added in added }
    }
}
