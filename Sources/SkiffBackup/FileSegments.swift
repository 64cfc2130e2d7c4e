import CSkiffSystem
import Glibc
import SkiffSystem

/// A run of a file: data to read, or a hole (unallocated zeros).
struct FileSegment: Equatable {
    var offset: Int64
    var length: Int64
    var isHole: Bool
}

enum FileSegments {
    /// The data and hole runs of the open file `fd` of `size` bytes. Files that occupy as
    /// many blocks as their size are not probed (no holes possible); filesystems without
    /// SEEK_DATA give one data run.
    static func of(_ fd: Int32, status: FileStatus) -> [FileSegment] {
        let size = status.size
        guard size > 0 else { return [] }
        guard status.blocks * 512 < size else { return [FileSegment(offset: 0, length: size, isHole: false)] }
        var segments: [FileSegment] = []
        var position: Int64 = 0
        while position < size {
            let data = Int64(skiff_seek_data(fd, off_t(position)))
            if data < 0 {
                if errno == ENXIO {
                    segments.append(FileSegment(offset: position, length: size - position, isHole: true))
                    break
                }
                return [FileSegment(offset: 0, length: size, isHole: false)]
            }
            let dataStart = min(data, size)
            if dataStart > position { segments.append(FileSegment(offset: position, length: dataStart - position, isHole: true)) }
            if dataStart >= size { break }
            var holeStart = Int64(skiff_seek_hole(fd, off_t(dataStart)))
            if holeStart < 0 { holeStart = size }
            holeStart = min(holeStart, size)
            segments.append(FileSegment(offset: dataStart, length: holeStart - dataStart, isHole: false))
            position = holeStart
        }
        return segments
    }
}
