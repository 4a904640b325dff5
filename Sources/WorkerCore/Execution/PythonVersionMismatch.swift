import LaunchBundle
import PythonBridge

/// A bundle whose `bundle.json` says it was made by another Python minor version than the one
/// the worker embeds.
///
/// A cloudpickle payload loads only on the minor version that made it, and a mismatched one may
/// even unpickle, then crash the whole process at its first predict: so loading refuses it
/// (``refusal(bundle:)``) unless the operator allows it. A zip bundle's code is source, which
/// may still run, so it only gets the ``warning``. `inspect` shows the same warning: this is the
/// one place the versions are compared. Only major.minor counts; a bundle that does not record
/// its Python is never a mismatch.
public struct PythonVersionMismatch: Sendable, Equatable {
    /// The Python that made the bundle (`python_version`), such as `3.12.1`.
    public var bundleVersion: String
    /// The Python the worker embeds, such as `3.11.2`.
    public var embeddedVersion: String
    /// The bundle's packaging, which decides whether the mismatch stops it loading.
    public var packagingType: PackagingType

    /// The mismatch of `metadata` against `embedded`; nil when the bundle does not record its
    /// Python or it has the same major.minor.
    public init?(_ metadata: BundleMetadata, embedded: String = PythonEnvironment.linkedVersion) {
        guard let made = metadata.pythonVersion, PythonEnvironment.minor(made) != PythonEnvironment.minor(embedded)
        else { return nil }
        bundleVersion = made
        embeddedVersion = embedded
        packagingType = metadata.packagingType
    }

    /// Whether loading refuses the bundle unless allowed (`--allow-python-mismatch`): a
    /// cloudpickle bundle's does.
    public var refusesLoading: Bool { packagingType == .cloudpickle }

    /// What `inspect` warns, and what loading logs when it goes ahead.
    public var warning: String {
        let embeddedMinor = PythonEnvironment.minor(embeddedVersion)
        let consequence =
            packagingType == .cloudpickle
            ? "cloudpickle needs the same minor version to load it: rebuild the bundle with Python \(embeddedMinor)"
            : "a zip bundle's code may still run, but check it supports Python \(embeddedMinor)"
        return
            "the bundle was made by Python \(bundleVersion) but this worker embeds Python \(embeddedVersion); \(consequence)"
    }

    /// The error that stops loading `bundle`, naming both versions and the two fixes.
    public func refusal(bundle: String) -> String {
        let bundleMinor = PythonEnvironment.minor(bundleVersion)
        return """
            bundle \(bundle) was made by Python \(bundleVersion), but this worker embeds Python \
            \(embeddedVersion): a cloudpickle bundle loads only on the Python minor version that made it \
            (on another it may load, then crash the process at its first predict). Run it with a \
            launch-worker that embeds Python \(bundleMinor) (built where pkg-config python3-embed gives \
            Python \(bundleMinor), with a venv of that Python), or rebuild the bundle with Python \
            \(PythonEnvironment.minor(embeddedVersion)); --allow-python-mismatch loads it anyway
            """
    }
}
