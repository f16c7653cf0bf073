using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.AspNetCore.Identity;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// <c>response-centre add-user NAME [--role operator|supervisor|admin] [--reset-password]</c>: the password is read from stdin,
/// never from the command line. An existing user is changed only with <c>--reset-password</c>, which replaces the
/// password (and the role, when given) and sets a new security stamp, so that the user's sessions end.
/// </summary>
public static class UserCommand
{
    public const int MinPasswordLength = PasswordPolicy.MinLength;

    public const string ResetPasswordFlag = "--reset-password";

    public const string Usage = "usage: response-centre add-user NAME [--role operator|supervisor|admin] [--reset-password]   (password on stdin)";

    public static async Task<int> RunAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        if (CentreHelp.IsHelp(args))
        {
            await stdout.WriteLineAsync(Usage);
            return 0;
        }

        var options = CommandOptions.Parse(args, valued: ["--role"], flags: [ResetPasswordFlag]);
        var name = options.Name;
        var role = options.Value("--role");
        if (!string.IsNullOrWhiteSpace(name) && role is not null && !Roles.IsValid(role))
        {
            await stderr.WriteLineAsync($"add-user: there is no role '{role}'; the roles are {string.Join(", ", Roles.All)}");
            return 2;
        }

        if (string.IsNullOrWhiteSpace(name) || options.Error is not null)
        {
            await stderr.WriteLineAsync(options.Error is { } error ? $"add-user: {error}" : Usage);
            return 2;
        }

        var reset = options.Has(ResetPasswordFlag);
        var store = CommandOptions.OpenStore(options.ConfigArgs);
        try
        {
            await store.MigrateAsync(CancellationToken.None);
            var existing = await store.FindUserAsync(name, CancellationToken.None);
            if (existing is not null && !reset)
            {
                await stderr.WriteLineAsync($"add-user: there is already a user '{name}'; to give that user a new password (which ends the user's sessions), pass {ResetPasswordFlag}");
                return 2;
            }

            if (existing is null && reset)
            {
                await stderr.WriteLineAsync($"add-user: there is no user '{name}' whose password could be reset; leave out {ResetPasswordFlag} to add one");
                return 2;
            }

            var password = (await stdin.ReadLineAsync())?.TrimEnd('\r') ?? "";
            if (PasswordPolicy.Problem(name, password) is { } problem)
            {
                await stderr.WriteLineAsync($"add-user: {problem} (the password is read from stdin); nothing was saved");
                return 2;
            }

            if (existing is not null)
            {
                var changed = await ResetPasswordAsync(store, existing, role, password, CancellationToken.None);
                await AuditTrail.SaveAsync(store, AuditTrail.CommandLine("add-user --reset-password", $"{changed.UserName} role={changed.Role}", TimeProvider.System.GetUtcNow()), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
                await stdout.WriteLineAsync($"add-user: {changed.UserName} ({changed.Role}) has a new password; the user's sessions have ended");
                return 0;
            }

            var user = await CreateUserAsync(store, name, role ?? Roles.Operator, password, CancellationToken.None);
            await AuditTrail.SaveAsync(store, AuditTrail.CommandLine("add-user", $"{user.UserName} role={user.Role}", TimeProvider.System.GetUtcNow()), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            await stdout.WriteLineAsync($"add-user: {user.UserName} ({user.Role}) saved; acknowledgements carry the id {user.OperatorId}");
            return 0;
        }
        finally
        {
            if (store is IAsyncDisposable d)
            {
                await d.DisposeAsync();
            }
        }
    }

    /// <summary>Adds a user (or sets a new password and role), keeping an existing operator id.</summary>
    /// <param name="hasher">The service's hasher (<see cref="PasswordHashing.NewHasher"/> when null).</param>
    public static async Task<CentreUser> CreateUserAsync(ICentreStore store, string name, string role, string password, CancellationToken ct,
        IPasswordHasher<CentreUser>? hasher = null)
    {
        var existing = await store.FindUserAsync(name, ct);
        var user = new CentreUser
        {
            UserName = name,
            OperatorId = existing?.OperatorId ?? $"operator-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3))}",
            Role = role,
            PasswordHash = "",
            SecurityStamp = CentreUser.NewStamp(),
            TotpSecret = existing?.TotpSecret,
            TotpLastStep = existing?.TotpLastStep ?? 0,
        };
        user = user with { PasswordHash = (hasher ?? PasswordHashing.NewHasher()).HashPassword(user, password) };
        await store.SaveUserAsync(user, ct);
        return user;
    }

    /// <summary>
    /// A new password (and role, when given) for an existing user, with a new security stamp: every session the user
    /// has ends. The operator id and the second factor stay.
    /// </summary>
    public static async Task<CentreUser> ResetPasswordAsync(ICentreStore store, CentreUser existing, string? role, string password, CancellationToken ct,
        IPasswordHasher<CentreUser>? hasher = null)
    {
        var user = existing with { Role = role ?? existing.Role, SecurityStamp = CentreUser.NewStamp() };
        user = user with { PasswordHash = (hasher ?? PasswordHashing.NewHasher()).HashPassword(user, password) };
        await store.SaveUserAsync(user, ct);
        return user;
    }
}
