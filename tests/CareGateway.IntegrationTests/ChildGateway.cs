using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace CareGateway.IntegrationTests;

/// <summary>One run of the gateway in a child process (tests/CareGateway.FaultChild).</summary>
public sealed class ChildGateway : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ITestOutputHelper _output;

    private ChildGateway(Process process, ITestOutputHelper output)
    {
        _process = process;
        _output = output;
    }

    public static ChildGateway Start(string configPath, int count, ITestOutputHelper output)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "CareGateway.FaultChild.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: the test project references tests/CareGateway.FaultChild");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var info = new ProcessStartInfo(dotnet, [dll, configPath, count.ToString(CultureInfo.InvariantCulture)])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(info) ?? throw new InvalidOperationException("the child gateway did not start");
        var child = new ChildGateway(process, output);
        process.ErrorDataReceived += (_, e) => child.Say("child stderr: " + e.Data);
        process.BeginErrorReadLine();
        return child;
    }

    public int Id => _process.Id;

    /// <summary>Reads (and drops) the rest of the child's output in the background, so a chatty child never blocks on a full pipe.</summary>
    public void DrainInBackground() => _ = Task.Run(async () =>
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is not null)
            {
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
    });

    public async Task<string> ReadLineAsync(TimeSpan bound)
    {
        var line = await _process.StandardOutput.ReadLineAsync().WaitAsync(bound);
        return line ?? throw new InvalidOperationException($"the child gateway ended early with exit code {(_process.WaitForExit(5000) ? _process.ExitCode : -1)}");
    }

    /// <summary>Reads lines until one equals <paramref name="line"/>; the lines before it are returned.</summary>
    public async Task<IReadOnlyList<string>> WaitForLineAsync(string line, TimeSpan bound)
    {
        var before = new List<string>();
        while (true)
        {
            var next = await ReadLineAsync(bound);
            if (next == line)
            {
                return before;
            }

            before.Add(next);
        }
    }

    /// <summary>SIGKILL: no chance to flush, close or say goodbye.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    public async Task StopAsync(TimeSpan bound)
    {
        _process.StandardInput.Close();
        await _process.WaitForExitAsync().WaitAsync(bound);
        Assert.Equal(0, _process.ExitCode);
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Say(string? line)
    {
        if (line is null)
        {
            return;
        }

        try
        {
            _output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
        }
    }
}
