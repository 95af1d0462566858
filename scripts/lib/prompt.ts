/** Yes/no questions for operator scripts: false when nobody is at a terminal to answer. */
import * as readline from "readline";

export async function confirmOnTty(question: string): Promise<boolean> {
    if (!process.stdin.isTTY) return false;
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
    const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
    rl.close();
    return /^y(es)?$/i.test(answer.trim());
}

/** A typed answer, for questions a yes would be too easy for; undefined when nobody is at a terminal. */
export async function askOnTty(question: string): Promise<string | undefined> {
    if (!process.stdin.isTTY) return undefined;
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
    const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
    rl.close();
    return answer;
}
