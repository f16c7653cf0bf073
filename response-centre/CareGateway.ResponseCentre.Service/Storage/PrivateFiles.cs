namespace CareGateway.ResponseCentre.Service.Storage;

/// <summary>
/// The centre's files hold password hashes, health notes and the keys that sign sessions: only the service's own
/// user may read them. A folder the service creates is 0700; the database (and SQLite's WAL and shared-memory files,
/// which SQLite creates with the database file's mode) is 0600, tightened at start if an older version left it wider.
/// A folder that already existed is not changed (it may be shared, such as <c>/var/lib</c>): point the settings at a
/// folder of the service's own.
/// </summary>
public static class PrivateFiles
{
    public const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode PrivateFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates <paramref name="folder"/> (and missing parents) as 0700; an existing folder is left as it is.</summary>
    public static void CreateFolder(string folder)
    {
        var full = Path.GetFullPath(folder);
        if (Directory.Exists(full))
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(full);
            return;
        }

        // Each missing folder on the way is the service's own too (CreateDirectory would give parents the default mode).
        var missing = new Stack<string>();
        for (var d = full; d is not null && !Directory.Exists(d); d = Path.GetDirectoryName(d))
        {
            missing.Push(d);
        }

        while (missing.TryPop(out var d))
        {
            Directory.CreateDirectory(d, FolderMode);
        }
    }

    /// <summary>
    /// The database file exists with mode 0600 before SQLite opens it (an empty file is an empty database), and its
    /// <c>-wal</c> and <c>-shm</c> companions, if present, are 0600 too.
    /// </summary>
    public static void PrepareDatabase(string path)
    {
        var full = Path.GetFullPath(path);
        CreateFolder(Path.GetDirectoryName(full)!);
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        if (!File.Exists(full))
        {
            using var created = new FileStream(full, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = PrivateFileMode });
        }

        foreach (var f in new[] { full, full + "-wal", full + "-shm", full + "-journal" })
        {
            if (File.Exists(f) && (File.GetUnixFileMode(f) & ~PrivateFileMode) != 0)
            {
                File.SetUnixFileMode(f, PrivateFileMode);
            }
        }
    }
}
