import CSkiffSystem
import Glibc

/// The CPU and I/O priority of this process's threads.
package enum ThreadPriority {
    /// Lowers the priority of every thread of this process, and so of the threads they start
    /// (both priorities belong to threads, not to the process): the nice value to at least
    /// `nice` (a thread already nicer keeps its value), and the I/O class to `ioClass` at
    /// `level` (used by the best-effort class only; `.none` leaves the I/O priority alone), as
    /// renice(1) and ionice(1) do for a process. Threads that end meanwhile are skipped.
    /// - Throws: `SystemError` with the errno of the last thread that could not be changed;
    ///   the others are changed all the same.
    package static func lowerEveryThread(nice: Int, ioClass: IOPriorityClass, level: Int32 = IOPriorityClass.lowestLevel) throws(SystemError) {
        if skiff_lower_priority(Int32(nice), ioClass.rawValue, level) != 0 {
            throw SystemError("lower thread priorities")
        }
    }
}
