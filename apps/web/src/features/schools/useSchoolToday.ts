import { useQuery } from "@tanstack/react-query";

import { DEFAULT_TIMEZONE, todayIn } from "../../format";
import { schoolQuery } from "./api";

/** Today's date where the school is (a register is for the school's day, not the phone's). */
export function useSchoolToday(): string {
  const school = useQuery({ ...schoolQuery, staleTime: 60 * 60_000 });
  return todayIn(school.data?.timezone ?? DEFAULT_TIMEZONE);
}
