import ArgumentParser
import SkiffBackup
import SkiffCore
import SkiffGraph
import SkiffRestore
import SkiffSiteClient
import SkiffStorage
import SkiffSystem

/// The documented exit codes of `skiff` (README, "Exit codes").
enum ExitStatus: Int32 {
    case success = 0
    /// Operational failure: I/O, storage, unexpected errors.
    case failure = 1
    /// Bad command line.
    case usage = 2
    /// Finished, but not everything was done: unreadable files skipped by a backup,
    /// ownership or devices not restored, existing files left alone.
    case partial = 3
    /// No repository at the given place, or not a Skiff repository, or another tenant's.
    case noRepository = 4
    /// Wrong passphrase, wrong key, or an unusable key file.
    case keyProblem = 5
    /// Integrity failure: a corrupt, missing or tampered object or seal.
    case integrity = 6
    /// The store is full; nothing already stored was harmed.
    case noSpace = 7
    /// The snapshot is sealed and queued, but fewer sites than the quorum accepted it in time
    /// (or, for `sync`, some sites are still behind). Delivery resumes with the next run.
    case notDurableYet = 8
    /// `restore --verify` or `diff` found the folder differs from the snapshot.
    case differs = 9
    /// `audit` or `heal` could not reach or read some site: the result is incomplete.
    case incomplete = 10
    /// `prune`: a backup is writing into the repository; nothing was changed, try again later.
    case busy = 11
    case interrupted = 130
}

/// An error with a message for the operator and the exit code it maps to.
struct CommandFailure: Error, CustomStringConvertible {
    let status: ExitStatus
    let description: String

    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        description = message
    }
}

/// Maps any error to its message and exit status.
func classify(_ error: Error) -> (ExitStatus, String) {
    switch error {
    case let failure as CommandFailure:
        return (failure.status, failure.description)
    case let error as KeyError:
        if case .tenantMismatch = error { return (.noRepository, "\(error)") }
        return (.keyProblem, "\(error)")
    case let error as CryptoError:
        return (.keyProblem, "\(error)")
    case let error as ObjectError:
        return (.integrity, "\(error)")
    case let error as SealError:
        return (.integrity, "\(error)")
    case let error as RestoreError:
        if case .object = error { return (.integrity, "\(error)") }
        return (.failure, "\(error)")
    case let error as StoreError:
        switch error {
        case .noSpace: return (.noSpace, "\(error)")
        case .unavailable: return (.noRepository, "\(error)")
        default: return (.failure, "\(error)")
        }
    case let error as SelectionError:
        return (.usage, "\(error)")
    case let error as BackupError:
        return (.failure, "\(error)")
    case let error as SiteClientError:
        return (error.isTransient ? .failure : .keyProblem, "\(error)")
    case let error as FormatError:
        return (.keyProblem, "\(error)")
    case is CancellationError:
        return (.interrupted, "interrupted")
    default:
        return (.failure, "\(error)")
    }
}
