-- The day a matter was collected, when it was entered later (a home visit written up the next
-- day, a paper sheet typed in at the end of the week); empty when it was entered on the day.
ALTER TABLE topics ADD COLUMN collected_on TEXT;
