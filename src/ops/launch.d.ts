// Types of launch.js (plain JavaScript: bin/herald.js runs it before tsx is registered).
export declare const SEMI_SPACE_MB: number;
export declare const SEMI_SPACE_MAX_MB: number;
export declare function semiSpaceFlag(mb: number, execArgv: readonly string[], nodeOptions?: string): string | null;
export declare function launchFlags(args: readonly string[], env: NodeJS.ProcessEnv, execArgv: readonly string[]): string[];
export declare function relaunch(nodeFlags: readonly string[]): void;
export declare const RELAUNCHED_ENV: string;
export declare const RELAYED: readonly NodeJS.Signals[];
export declare function relayedSignals(): { listen: (onSignal: (signal: NodeJS.Signals) => void) => void } | null;
