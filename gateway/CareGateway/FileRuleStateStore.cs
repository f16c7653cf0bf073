using CareGateway.Core;
using Microsoft.Extensions.Logging;

namespace CareGateway;

/// <summary>
/// Keeps the rule engine's state in one JSON file in the data directory, written atomically (a temporary file, flushed
/// to disk, then renamed over the old one), so that after a power cut the gateway finds either the old or the new
/// state. An unreadable file is logged and set aside: the gateway then starts with fresh rules rather than not at all.
/// While <paramref name="shed"/> says the disk is full, a save is refused without writing (state writes are shed before
/// alarms, which keep the space left); the rule loop retries with back-off.
/// </summary>
public sealed class FileRuleStateStore(string path, ILogger log, Func<bool>? shed = null) : IRuleStateStore
{
    public string Path { get; } = path;

    public RuleSnapshot? Load()
    {
        if (!File.Exists(Path))
        {
            return null;
        }

        try
        {
            if (RuleSnapshot.FromJson(File.ReadAllText(Path)) is { } snapshot)
            {
                return snapshot;
            }
        }
        catch (IOException ex)
        {
            log.LogError(ex, "Cannot read the rule state {Path}; the rules start fresh", Path);
            return null;
        }

        var aside = Path + ".unreadable";
        File.Move(Path, aside, overwrite: true);
        log.LogError("The rule state {Path} is not a state this version can read; moved to {Aside}, the rules start fresh", Path, aside);
        return null;
    }

    public void Save(RuleSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (shed?.Invoke() == true)
        {
            throw new IOException("not written while the disk is full: the space left is kept for alarms");
        }

        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        var temp = Path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(snapshot.ToJson());
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, Path, overwrite: true);
    }
}
