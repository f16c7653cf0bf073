using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace CareGateway.LoadTest;

/// <summary>
/// The real response-centre service (the built <c>response-centre.dll</c>) as a child process on a free loopback
/// port, with its own temp directory and database (SQLite in that directory, or a PostgreSQL connection string),
/// connected to the given broker. Logs at Warning, except the MQTT link's "Connected to the broker" line, which says
/// it is ready. Killed on dispose.
/// </summary>
internal sealed class CentreServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<string> _lastLines = new();
    private readonly Lock _gate = new();

    private CentreServiceProcess(Process process, string dir, string provider, string connectionString)
    {
        _process = process;
        Dir = dir;
        Provider = provider;
        ConnectionString = connectionString;
    }

    private readonly List<string> _intake = [];

    public string Dir { get; }

    /// <summary>
    /// The service's own intake figures (HealthMonitor at Debug, every 5 s) from line <paramref name="from"/> on:
    /// commits, alarms, heartbeats, mean and longest commit. Also returns the index to read from next time.
    /// </summary>
    public (IntakeFigures Figures, int Next) IntakeSince(int from)
    {
        List<string> lines;
        lock (_gate)
        {
            lines = _intake[Math.Min(from, _intake.Count)..];
            from = _intake.Count;
        }

        long commits = 0, alarms = 0, heartbeats = 0;
        double totalMs = 0, longest = 0;
        foreach (var line in lines)
        {
            // "12 commits, 340 alarms, 56 heartbeats; 1.23 ms per commit, longest 4.5 ms"
            var n = line.Split([' ', ',', ';'], StringSplitOptions.RemoveEmptyEntries);
            if (n.Length < 12)
            {
                continue;
            }

            var c = long.Parse(n[0], CultureInfo.InvariantCulture);
            commits += c;
            alarms += long.Parse(n[2], CultureInfo.InvariantCulture);
            heartbeats += long.Parse(n[4], CultureInfo.InvariantCulture);
            totalMs += c * double.Parse(n[6], CultureInfo.InvariantCulture);
            longest = Math.Max(longest, double.Parse(n[11], CultureInfo.InvariantCulture));
        }

        return (new IntakeFigures(commits, alarms, heartbeats, commits == 0 ? 0 : Math.Round((double)alarms / commits, 1),
            commits == 0 ? 0 : Math.Round(totalMs / commits, 2), Math.Round(longest, 1)), from);
    }


    public string Provider { get; }

    public string ConnectionString { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the service wrote (warnings and errors), for the report when something went wrong.</summary>
    public string LastLines
    {
        get
        {
            lock (_gate)
            {
                return string.Join(" | ", _lastLines);
            }
        }
    }

    public static async Task<CentreServiceProcess> StartAsync(string serviceDll, int brokerPort, string provider, string? postgresConnection, CancellationToken ct)
    {
        var dir = Directory.CreateTempSubdirectory("care-bench-centre-").FullName;
        var connection = provider == "postgres" ? postgresConnection! : Path.Combine(dir, "centre.db");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = dir,
        };
        foreach (var arg in new[]
        {
            serviceDll,
            "--urls", string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Mosquitto.FreePort()}"),
            "--Centre:Database:Provider", provider,
            "--Centre:Database:ConnectionString", connection,
            "--Centre:Mqtt:Host", "127.0.0.1",
            "--Centre:Mqtt:Port", brokerPort.ToString(CultureInfo.InvariantCulture),
            "--Centre:Mqtt:ClientId", "centre-bench",
            "--Centre:Mqtt:SharedGroup", "centre",

            // The bench measures the intake's capacity: the per-gateway flood limits would refuse its random bursts.
            "--Centre:Intake:AlarmBurst", "1000000",
            "--Centre:Intake:AlarmsPerMinute", "1000000",
            "--Centre:Intake:MaxOpenAlarms", "1000000",
            "--Logging:LogLevel:Default", "Warning",
            "--Logging:LogLevel:CareGateway.ResponseCentre.Service.Centre.MqttCentreLink", "Information",
            "--Logging:LogLevel:CareGateway.ResponseCentre.Service.Centre.HealthMonitor", "Debug", // the intake figures, every 5 s
            "--Logging:Console:FormatterName", "simple",
        })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["HOME"] = dir; // the service's default paths stay in the temp directory
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = Process.Start(info) ?? throw new InvalidOperationException("the response-centre service did not start");
        var service = new CentreServiceProcess(process, dir, provider, connection);
        process.OutputDataReceived += (_, e) => service.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => service.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await service._connected.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
        }
        catch (Exception ex) when (ex is TimeoutException)
        {
            var lines = service.LastLines;
            await service.DisposeAsync();
            throw new TimeoutException($"the response-centre service did not connect to the broker within 60 s: {lines}", ex);
        }

        return service;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            if (_process.HasExited)
            {
                _connected.TrySetException(new InvalidOperationException($"the response-centre service exited: {LastLines}"));
            }

            return;
        }

        if (line.Contains("Connected to the broker", StringComparison.Ordinal))
        {
            _connected.TrySetResult();
        }

        var intake = line.IndexOf("Intake: ", StringComparison.Ordinal);
        if (intake >= 0)
        {
            lock (_gate)
            {
                _intake.Add(line[(intake + 8)..].Trim());
            }

            return;
        }

        lock (_gate)
        {
            _lastLines.Enqueue(line.Trim());
            while (_lastLines.Count > 20)
            {
                _lastLines.Dequeue();
            }
        }
    }

    /// <summary>CPU time the service has used so far (user + system), from /proc/{pid}/stat.</summary>
    public double CpuSeconds()
    {
        var stat = File.ReadAllText($"/proc/{Pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // Fields 14 and 15 of the file (utime, stime) are 11 and 12 after the command name; clock ticks of 1/100 s.
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>The gateway alarms in the database: id and copies (how often it arrived).</summary>
    public async Task<Dictionary<string, int>> StoredAlarmsAsync(CancellationToken ct)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        const string sql = "SELECT alarm_id, copies FROM alarm WHERE origin = 1";
        if (Provider == "postgres")
        {
            await using var db = new NpgsqlConnection(ConnectionString);
            await db.OpenAsync(ct);
            await using var cmd = new NpgsqlCommand(sql, db);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
            {
                result[r.GetString(0)] = r.GetInt32(1);
            }
        }
        else
        {
            await using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = ConnectionString, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            await db.OpenAsync(ct);
            await using var cmd = db.CreateCommand();
            cmd.CommandText = sql;
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
            {
                result[r.GetString(0)] = r.GetInt32(1);
            }
        }

        return result;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The service's group commit during a phase: commits, alarms and heartbeats stored, alarms per commit, commit time.</summary>
internal sealed record IntakeFigures(long Commits, long Alarms, long Heartbeats, double AlarmsPerCommit, double MeanCommitMs, double LongestCommitMs);
