using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace CareGateway.LoadTest;

/// <summary>Debian's Mosquitto on a free loopback port with its own config and directory; killed on dispose.</summary>
internal sealed class Mosquitto : IAsyncDisposable
{
    private static readonly string[] Candidates = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"];
    private readonly string _dir;
    private readonly Process _process;

    private Mosquitto(string dir, int port, Process process)
    {
        _dir = dir;
        Port = port;
        _process = process;
    }

    public int Port { get; }

    public int Pid => _process.Id;

    public static async Task<Mosquitto> StartAsync(string extraConfig = "")
    {
        var exe = Candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("mosquitto is not installed (Debian: apt-get install mosquitto)");
        var dir = Directory.CreateTempSubdirectory("care-bench-mosquitto-").FullName;
        var port = FreePort();
        var config = Path.Combine(dir, "mosquitto.conf");
        // set_tcp_nodelay: small messages must not wait for Nagle's algorithm (the home template has it too).
        File.WriteAllText(config, string.Create(CultureInfo.InvariantCulture, $"""
            listener {port} 127.0.0.1
            allow_anonymous true
            persistence false
            set_tcp_nodelay true
            max_queued_messages 1000000
            max_inflight_messages 1000
            max_connections -1
            log_dest stderr
            log_type error
            log_type warning
            {extraConfig}
            """));
        var process = Process.Start(new ProcessStartInfo(exe, ["-c", config])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("mosquitto did not start");
        process.ErrorDataReceived += (_, _) => { };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var broker = new Mosquitto(dir, port, process);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"mosquitto exited with {process.ExitCode}");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return broker;
            }
            catch (SocketException)
            {
                await Task.Delay(20);
            }
        }

        await broker.DisposeAsync();
        throw new TimeoutException("mosquitto did not listen within 15 s");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}

/// <summary>CPU time a process has used (user + system, all threads) from /proc/{pid}/stat, in ms.</summary>
internal static class ProcCpu
{
    public static double ReadMs(int pid)
    {
        // Fields 14 and 15 (utime, stime) in clock ticks; the command name (field 2) may hold spaces, so count from ')'.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks * 1000.0 / 100; // USER_HZ is 100 on Linux
    }

    /// <summary>Context switches of all the process's threads (voluntary + involuntary), from /proc/{pid}/task/*/status.</summary>
    public static long ContextSwitches(int pid)
    {
        long total = 0;
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        total += long.Parse(line.Split(':')[1].Trim(), CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (IOException)
            {
                // the thread ended meanwhile
            }
        }

        return total;
    }
}

/// <summary>Resident memory of a process from /proc/{pid}/status (VmRSS now, VmHWM the peak), in MiB.</summary>
internal static class ProcMemory
{
    public static (double RssMb, double HwmMb) Read(int pid)
    {
        double rss = double.NaN, hwm = double.NaN;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kb(line) / 1024.0;
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                hwm = Kb(line) / 1024.0;
            }
        }

        return (Math.Round(rss, 1), Math.Round(hwm, 1));
    }

    /// <summary>
    /// The idle figure split: anonymous memory (heaps, stacks), file-backed pages (mapped code, the runtime) and shared
    /// memory (with JIT, the runtime's W^X double mapping of generated code).
    /// </summary>
    public static (double AnonMb, double FileMb, double ShmemMb) Split(int pid)
    {
        double anon = double.NaN, file = double.NaN, shmem = double.NaN;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
            {
                anon = Math.Round(Kb(line) / 1024.0, 1);
            }
            else if (line.StartsWith("RssFile:", StringComparison.Ordinal))
            {
                file = Math.Round(Kb(line) / 1024.0, 1);
            }
            else if (line.StartsWith("RssShmem:", StringComparison.Ordinal))
            {
                shmem = Math.Round(Kb(line) / 1024.0, 1);
            }
        }

        return (anon, file, shmem);
    }

    /// <summary>Resident memory by mapping (/proc/PID/smaps), summed per file or kind, largest first: where the RSS goes.</summary>
    public static string Mappings(int pid)
    {
        var totals = new Dictionary<string, (long Rss, long Anon, long Shared)>(StringComparer.Ordinal);
        var name = "";
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 5 && fields[0].Contains('-', StringComparison.Ordinal) && !fields[0].EndsWith(':'))
            {
                // "start-end perms offset dev inode [path]": anonymous mappings have no path.
                name = fields.Length == 6 ? fields[5].Trim() : "[anonymous]";
                name = name.StartsWith("/memfd:doublemapper", StringComparison.Ordinal) ? "[memfd:doublemapper] (JIT code, W^X)" : name;
                continue;
            }

            var t = totals.GetValueOrDefault(name);
            if (line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                t.Rss += Kb(line);
            }
            else if (line.StartsWith("Anonymous:", StringComparison.Ordinal))
            {
                t.Anon += Kb(line);
            }
            else if (line.StartsWith("Shared_Clean:", StringComparison.Ordinal) || line.StartsWith("Shared_Dirty:", StringComparison.Ordinal))
            {
                t.Shared += Kb(line);
            }
            else
            {
                continue;
            }

            totals[name] = t;
        }

        var text = new System.Text.StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"# pid {pid}: RSS by mapping (kB), total {totals.Values.Sum(t => t.Rss)}");
        foreach (var (file, t) in totals.Where(kv => kv.Value.Rss > 0).OrderByDescending(kv => kv.Value.Rss))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{t.Rss,8} rss {t.Anon,8} anon {t.Shared,8} shared  {file}");
        }

        return text.ToString();
    }

    private static long Kb(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}

/// <summary>Latency samples in milliseconds and their percentiles.</summary>
internal sealed class Latencies
{
    private readonly List<double> _ms = [];
    private readonly Lock _gate = new();

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _ms.Count;
            }
        }
    }

    public void Add(double ms)
    {
        lock (_gate)
        {
            _ms.Add(ms);
        }
    }

    public double[] Snapshot()
    {
        lock (_gate)
        {
            return [.. _ms];
        }
    }

    public static LatencySummary Summarize(IReadOnlyList<double> samples)
    {
        if (samples.Count == 0)
        {
            return new LatencySummary(0, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        var sorted = samples.Order().ToArray();
        double P(double q) => Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)], 3);
        return new LatencySummary(sorted.Length, P(0.50), P(0.99), Math.Round(sorted[^1], 3), Math.Round(sorted.Average(), 3));
    }
}

internal sealed record LatencySummary(int Count, double P50Ms, double P99Ms, double MaxMs, double MeanMs);
